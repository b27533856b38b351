// Retrieval: passages from the database, cited inline by the coach.
import assert from "node:assert/strict";
import { test } from "node:test";

interface Citation {
  author: string;
  work: string;
  text: string;
}

const base = process.env.APP_URL ?? "http://127.0.0.1:18411";

test("retrieval finds passages about virtue", async () => {
  const res = await fetch(`${base}/api/retrieval?q=virtue`);
  assert.equal(res.status, 200);
  const { citations } = (await res.json()) as { citations: Citation[] };
  assert.ok(citations.length >= 1);
  for (const c of citations) assert.match(c.text, /virtue/i);
});

test("a coach answer carries citations", async () => {
  const res = await fetch(`${base}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "What is virtue?" }),
  });
  assert.equal(res.status, 200);
  const answer = (await res.json()) as { content: string; citations: Citation[] };
  assert.ok(answer.content.length > 0);
  assert.ok(answer.citations.length >= 1);
});
