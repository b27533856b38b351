/**
 * Block Kit for a Gantry message, within Slack's limits: the text as mrkdwn `section` blocks of
 * at most 3,000 characters (https://docs.slack.dev/reference/block-kit/blocks/section-block),
 * at most 50 blocks a message (https://docs.slack.dev/reference/block-kit/blocks), and the
 * release's status as a `context` block under a thread's first message
 * (https://docs.slack.dev/reference/block-kit/blocks/context-block).
 */

export const SECTION_CHARS = 3000;
export const MAX_BLOCKS = 50;
/**
 * The plain `text` beside the blocks is what notifications and screen readers show. Slack
 * advises at most 4,000 characters there (it truncates at 40,000):
 * https://docs.slack.dev/reference/methods/chat.postMessage#truncating-content
 */
export const TEXT_CHARS = 4000;

export interface MrkdwnText {
  type: "mrkdwn";
  text: string;
}

export type Block = { type: "section"; text: MrkdwnText } | { type: "context"; elements: MrkdwnText[] };

/** The message's blocks: its text in sections, shortened with a note when 50 sections cannot hold it. */
export function messageBlocks(text: string): Block[] {
  return sections(text, MAX_BLOCKS);
}

/** A thread's first message with the release's status under it (one line). */
export function statusBlocks(text: string, status: string): Block[] {
  const line = shorten(status.replace(/\s+/g, " ").trim() || "no status", SECTION_CHARS);
  return [...sections(text, MAX_BLOCKS - 1), { type: "context", elements: [{ type: "mrkdwn", text: line }] }];
}

/** The plain-text fallback, shortened to what Slack shows in full. */
export function fallbackText(text: string): string {
  return shorten(text, TEXT_CHARS);
}

/** What ends a message too long for one Slack message. */
export function shortenedNote(length: number): string {
  return `_(shortened: the message has ${length} characters, more than one Slack message holds)_`;
}

function sections(text: string, max: number): Block[] {
  const chunks = splitText(text, SECTION_CHARS);
  if (chunks.length > max) {
    chunks.length = max;
    const note = shortenedNote(text.length);
    const last = chunks[max - 1]!;
    chunks[max - 1] = `${cutAt(last, SECTION_CHARS - note.length - 1)}\n${note}`;
  }
  return chunks.map((chunk) => ({ type: "section", text: { type: "mrkdwn", text: chunk } }));
}

/**
 * Splits text into pieces of at most `limit` characters: at the last line break that fits,
 * else at the last space (if in the second half), else anywhere (never inside a surrogate pair).
 * Blank pieces are dropped: Slack refuses a section without text.
 */
export function splitText(text: string, limit: number): string[] {
  const chunks: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf("\n", limit);
    if (cut <= 0) {
      cut = rest.lastIndexOf(" ", limit);
      if (cut < limit / 2) cut = cutAt(rest, limit).length;
    }
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^[\n ]/, "");
  }
  chunks.push(rest);
  return chunks.filter((chunk) => chunk.trim() !== "");
}

/** The text's first `limit` characters, one fewer when the last would be half a surrogate pair. */
function cutAt(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const code = text.charCodeAt(limit - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit);
}

function shorten(text: string, limit: number): string {
  return text.length <= limit ? text : `${cutAt(text, limit - 1)}…`;
}
