// /api/health lists every AI provider with a status the seed's check understands.
import assert from "node:assert/strict";
import { test } from "node:test";

interface Health {
  status: string;
  version: string;
  redis: boolean;
  providers: Array<{ name: string; status: string }>;
}

const base = process.env.APP_URL ?? "http://127.0.0.1:18411";

test("/api/health lists openai, anthropic and together, none unavailable", async () => {
  const res = await fetch(`${base}/api/health`);
  assert.equal(res.status, 200);
  const health = (await res.json()) as Health;
  assert.deepEqual(
    health.providers.map((p) => p.name),
    ["openai", "anthropic", "together"],
  );
  for (const p of health.providers)
    assert.ok(["healthy", "degraded"].includes(p.status), `${p.name}: ${p.status}`);
  assert.equal(health.redis, true);
  assert.ok(["healthy", "degraded"].includes(health.status));
});
