// The PWA's manifest and service worker, as the browser fetches them.
import assert from "node:assert/strict";
import { test } from "node:test";

const base = process.env.APP_URL ?? "http://127.0.0.1:18411";

test("the manifest is installable: name, start_url, standalone", async () => {
  const manifest = (await (await fetch(`${base}/manifest.webmanifest`)).json()) as Record<string, string>;
  assert.equal(manifest.start_url, "/");
  assert.equal(manifest.display, "standalone");
  assert.ok(manifest.name);
});

test("the service worker precaches /offline and handles SKIP_WAITING", async () => {
  const sw = await (await fetch(`${base}/sw.js`)).text();
  assert.match(sw, /"\/offline"/);
  assert.match(sw, /SKIP_WAITING/);
});
