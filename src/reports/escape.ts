/**
 * Escaping for the report formats. Every text a report prints comes from the event log and
 * may hold anything a command printed: it goes through one of these, never in raw.
 */

/** Characters XML 1.0 does not allow at all (control characters, lone surrogates). */
const NOT_XML =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters XML forbids, matched to be replaced
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text for HTML, SVG and XML, in element content or a quoted attribute. */
export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML, "\uFFFD")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/**
 * Text for Markdown, on one line: the characters Markdown (and the HTML GitHub lets through
 * it) would read as syntax are escaped with a backslash, line breaks become spaces. An
 * underscore inside a word (`error_rate`) is no syntax and stays as it is.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(NOT_XML, "\uFFFD")
    .replace(/\r?\n|\r/g, " ")
    .replace(/[\\`*[\]<|&~#!]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|^>/g, "\\$&");
}
