/**
 * The additions the seed stand-ins need from the test helpers: fixed ports, and PostHog's
 * capture endpoint feeding the same events the query API counts.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, test } from "node:test";
import { freePort } from "../src/exec/port.js";
import { listenAt } from "./helpers/listen-at.js";
import { startPosthogApi } from "./helpers/posthog-api.js";

const stops: Array<() => unknown> = [];
after(async () => {
  for (const stop of stops.reverse()) await stop();
});
const cleanup = (stop: () => unknown) => stops.push(stop);

test("PostHog capture: events an app sends are counted by the query API; a wrong key is refused", async () => {
  const port = await freePort();
  const api = await startPosthogApi(
    { token: "phx_personal", project: "7", projectApiKey: "phc_project", port },
    cleanup,
  );
  assert.equal(api.url, `http://127.0.0.1:${port}`);
  const post = (path: string, body: unknown) =>
    fetch(`${api.url}${path}`, { method: "POST", body: JSON.stringify(body) }).then(async (r) => ({
      status: r.status,
      text: await r.text(),
    }));
  assert.equal((await post("/i/v0/e/", { api_key: "phc_project", event: "i_chat_completed" })).status, 200);
  const batch = {
    api_key: "phc_project",
    batch: [{ event: "i_request_failed" }, { event: "i_chat_completed" }],
  };
  assert.equal((await post("/batch/", batch)).status, 200);
  const refused = await post("/i/v0/e/", { api_key: "phc_wrong", event: "i_chat_completed" });
  assert.equal(refused.status, 401);
  assert.doesNotMatch(refused.text, /phc_wrong/);
  assert.deepEqual(
    api.events.map((e) => e.event),
    ["i_chat_completed", "i_request_failed", "i_chat_completed"],
  );
  const query = await fetch(`${api.url}/api/projects/7/query/`, {
    method: "POST",
    headers: { authorization: "Bearer phx_personal" },
    body: JSON.stringify({
      query: {
        kind: "HogQLQuery",
        query: "SELECT event, count() FROM events WHERE event = 'i_chat_completed' GROUP BY event",
      },
    }),
  }).then((r) => r.json());
  assert.deepEqual(query.results, [["i_chat_completed", 2]]);
});

test("PostHog without a project key has no capture endpoint", async () => {
  const api = await startPosthogApi({ token: "phx_personal", project: "7" }, cleanup);
  const r = await fetch(`${api.url}/i/v0/e/`, { method: "POST", body: JSON.stringify({ event: "x" }) });
  assert.equal(r.status, 401);
  assert.equal(api.events.length, 0);
});

test("listenAt: a port already taken fails with the port", async () => {
  const port = await freePort();
  await listenAt(http.createServer(), cleanup, port);
  await assert.rejects(
    listenAt(http.createServer(), cleanup, port),
    new RegExp(`127.0.0.1:${port} is already in use`),
  );
});
