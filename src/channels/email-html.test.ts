import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeHtml, htmlFromText } from "./email-html.js";

/** The body's paragraphs, without the document around them. */
const body = (text: string) =>
  htmlFromText(text)
    .split("\n")
    .filter((line) => !/^<!DOCTYPE|^<html>|^<\/body>|^$/.test(line))
    .join("\n");

test("the HTML part is a whole document in UTF-8", () => {
  const html = htmlFromText("hello");
  assert.match(html, /^<!DOCTYPE html>\n<html><head><meta charset="utf-8"><\/head><body>\n/);
  assert.match(html, /<p>hello<\/p>\n<\/body><\/html>\n$/);
});

test("text is escaped, so it can never become markup", () => {
  assert.equal(
    body(`<script>alert("x")</script> & 'y'`),
    `<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;</p>`,
  );
  assert.equal(escapeHtml(`<&>"'`), "&lt;&amp;&gt;&quot;&#39;");
});

test("blank lines make paragraphs; single line breaks are kept", () => {
  assert.equal(body("one\ntwo\n\n\nthree\r\nfour"), "<p>one<br>\ntwo</p>\n<p>three<br>\nfour</p>");
  assert.equal(body("\n\n  \n"), "");
});

test("*bold* becomes strong, but not inside words or around spaces", () => {
  assert.equal(body("Deploy *api* now"), "<p>Deploy <strong>api</strong> now</p>");
  assert.equal(body("*1.4.2 to production*"), "<p><strong>1.4.2 to production</strong></p>");
  assert.equal(body("2*3*4 and * not bold * and **"), "<p>2*3*4 and * not bold * and **</p>");
});

test("URLs become links, without the punctuation that ends the sentence", () => {
  assert.equal(
    body("See https://ci.example.com/runs/42?a=1&b=2."),
    '<p>See <a href="https://ci.example.com/runs/42?a=1&amp;b=2">https://ci.example.com/runs/42?a=1&amp;b=2</a>.</p>',
  );
  assert.equal(
    body("(https://example.com/x) and https://en.wikipedia.org/wiki/Canary_(bird)"),
    '<p>(<a href="https://example.com/x">https://example.com/x</a>) and <a href="https://en.wikipedia.org/wiki/Canary_(bird)">https://en.wikipedia.org/wiki/Canary_(bird)</a></p>',
  );
});

test("Slack's <url|label> links, as templates for every channel write them, become links too", () => {
  assert.equal(
    body("Run <https://ci.example.com/runs/42|#42 *failed*> and <https://status.example.com>"),
    '<p>Run <a href="https://ci.example.com/runs/42">#42 <strong>failed</strong></a> and <a href="https://status.example.com">https://status.example.com</a></p>',
  );
  assert.equal(
    body('<javascript:alert(1)|x> "https://a.example/"'),
    '<p>&lt;javascript:alert(1)|x&gt; &quot;<a href="https://a.example/">https://a.example/</a>&quot;</p>',
  );
});
