import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type Block,
  fallbackText,
  MAX_BLOCKS,
  messageBlocks,
  SECTION_CHARS,
  shortenedNote,
  splitText,
  statusBlocks,
  TEXT_CHARS,
} from "./slack-blocks.js";

const texts = (blocks: Block[]) => blocks.map((b) => (b.type === "section" ? b.text.text : ""));

test("a short message is one mrkdwn section", () => {
  assert.deepEqual(messageBlocks("Deploying *api* 1.4.2"), [
    { type: "section", text: { type: "mrkdwn", text: "Deploying *api* 1.4.2" } },
  ]);
});

test("a long message is split into sections of at most 3,000 characters, at line breaks", () => {
  const lines = Array.from({ length: 70 }, (_, i) => `${String(i).padStart(2, "0")} ${"y".repeat(96)}`);
  const text = lines.join("\n");
  const sections = texts(messageBlocks(text));
  assert.equal(sections.length, 3);
  for (const s of sections) {
    assert.ok(s.length <= SECTION_CHARS);
    for (const line of s.split("\n")) assert.equal(line.length, 99, "no line is cut");
  }
  assert.equal(sections.join("\n"), text, "nothing is lost");
});

test("a line longer than a section is split at a space, or anywhere when it has none", () => {
  const words = Array.from({ length: 800 }, () => "word").join(" ");
  const atSpaces = splitText(words, SECTION_CHARS);
  assert.ok(atSpaces.every((s) => s.length <= SECTION_CHARS && !s.startsWith(" ") && s.endsWith("word")));
  assert.equal(atSpaces.join(" "), words);

  const solid = "z".repeat(7000);
  assert.deepEqual(
    splitText(solid, SECTION_CHARS).map((s) => s.length),
    [3000, 3000, 1000],
  );
});

test("a split never cuts a character in two", () => {
  const text = `${"a".repeat(2999)}🚀${"b".repeat(10)}`;
  const [first, second] = splitText(text, SECTION_CHARS);
  assert.equal(first, "a".repeat(2999));
  assert.equal(second, `🚀${"b".repeat(10)}`);
});

test("blank pieces make no section: Slack refuses an empty one", () => {
  assert.deepEqual(texts(messageBlocks("one\n\n\n")), ["one\n\n\n"]);
  assert.deepEqual(messageBlocks(""), []);
  assert.deepEqual(messageBlocks(`${"q".repeat(3000)}\n\n   `), [
    { type: "section", text: { type: "mrkdwn", text: "q".repeat(3000) } },
  ]);
});

test("past 50 sections the message is shortened, with a note saying so", () => {
  const text = Array.from({ length: 3000 }, (_, i) => `line ${i} ${"x".repeat(60)}`).join("\n");
  const blocks = messageBlocks(text);
  assert.equal(blocks.length, MAX_BLOCKS);
  const sections = texts(blocks);
  assert.ok(sections.every((s) => s.length > 0 && s.length <= SECTION_CHARS));
  assert.ok(sections.at(-1)!.endsWith(shortenedNote(text.length)));
  assert.match(
    shortenedNote(text.length),
    new RegExp(`shortened: the message has ${text.length} characters`),
  );
  assert.ok(text.startsWith(sections[0]!), "it starts as the message does");
});

test("a thread's first message shows the status in a context block under its text, within 50 blocks", () => {
  const blocks = statusBlocks("Deploying api", "rolled back\nat 12:03");
  assert.deepEqual(blocks, [
    { type: "section", text: { type: "mrkdwn", text: "Deploying api" } },
    { type: "context", elements: [{ type: "mrkdwn", text: "rolled back at 12:03" }] },
  ]);
  const long = statusBlocks("w ".repeat(100_000), "done");
  assert.equal(long.length, MAX_BLOCKS);
  assert.equal(long.at(-1)!.type, "context");
  assert.ok(texts(long.slice(0, -1)).at(-1)!.endsWith(shortenedNote(200_000)));
  const huge = statusBlocks("x", "s".repeat(5000));
  const context = huge.at(-1)!;
  assert.ok(context.type === "context" && context.elements[0]!.text.length <= SECTION_CHARS);
});

test("the plain-text fallback is cut to what Slack shows in full", () => {
  assert.equal(fallbackText("short"), "short");
  const cut = fallbackText("t".repeat(10_000));
  assert.equal(cut.length, TEXT_CHARS);
  assert.ok(cut.endsWith("…"));
});
