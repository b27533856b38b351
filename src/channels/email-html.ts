/**
 * The HTML part of an email whose template has none, made from its text: escaped, paragraphs
 * at blank lines, line breaks kept, `*bold*` as <strong>, and links — bare URLs and Slack's
 * `<url|label>` (templates are written once for every channel, in Slack's mrkdwn).
 */

/** Bare URLs, or Slack's <url> and <url|label>. */
const LINK = /<(https?:\/\/[^|>\s]+)(?:\|([^>]*))?>|https?:\/\/[^\s<>"]+/g;
/** *bold*: asterisks around text that neither starts nor ends with a space, not inside a word. */
const BOLD = /(^|[^\w*])\*(\S(?:[^*\n]*?\S)?)\*(?![\w*])/g;
/** Punctuation that ends a sentence rather than the URL before it. */
const TRAILING = /[.,;:!?'"]+$|\)$/;

export function htmlFromText(text: string): string {
  const paragraphs = text
    .replace(/\r\n?/g, "\n")
    .split(/\n[ \t]*\n/)
    .filter((p) => p.trim() !== "")
    .map(
      (p) =>
        `<p>${p
          .replace(/^\n+|\n+$/g, "")
          .split("\n")
          .map(inline)
          .join("<br>\n")}</p>`,
    );
  return [
    "<!DOCTYPE html>",
    '<html><head><meta charset="utf-8"></head><body>',
    ...paragraphs,
    "</body></html>",
    "",
  ].join("\n");
}

function inline(line: string): string {
  let html = "";
  let last = 0;
  for (const m of line.matchAll(LINK)) {
    html += styled(line.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1]) {
      html += link(m[1], m[2] || m[1]);
      continue;
    }
    // A bare URL at the end of a sentence: the full stop is not part of it.
    let url = m[0];
    const tail = TRAILING.exec(url);
    if (tail && !(tail[0] === ")" && url.includes("("))) {
      url = url.slice(0, -tail[0].length);
      last -= tail[0].length;
    }
    html += link(url, url);
  }
  return html + styled(line.slice(last));
}

function link(url: string, label: string): string {
  return `<a href="${escapeHtml(url)}">${styled(label)}</a>`;
}

function styled(text: string): string {
  return escapeHtml(text).replace(BOLD, "$1<strong>$2</strong>");
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}
