import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRunbookText } from "../runbook/load.js";
import { Probe } from "../runbook/schema/probes.js";
import { renderTemplate } from "../runbook/template.js";
import { environmentScope, renderProbe } from "./scope.js";

describe("renderProbe", () => {
  const values = {
    env: { url: "http://127.0.0.1:9" },
    captures: { id: "stale-from-an-earlier-step", token: "t" },
  };
  const render = <T>(v: T): T => {
    const walk = (x: unknown): unknown =>
      typeof x === "string"
        ? renderTemplate(x, values)
        : Array.isArray(x)
          ? x.map(walk)
          : x && typeof x === "object" && !("ms" in x)
            ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]))
            : x;
    return walk(v) as T;
  };

  it("leaves an http probe's own captures in poll and download for the probe to fill in", () => {
    const spec = Probe.parse({
      type: "http",
      method: "POST",
      url: "{{ env.url }}/jobs",
      headers: { authorization: "Bearer {{ captures.token }}" },
      capture: { id: "$.id" },
      poll: { url: "{{ env.url }}/jobs/{{ captures.id }}", path: "$.status", until: "done" },
      download: { url: "{{ env.url }}/jobs/{{captures.id}}/result?by={{ captures.token }}" },
    });
    const r = renderProbe(spec, render, (c) => c) as Extract<Probe, { type: "http" }>;
    assert.equal(r.url, "http://127.0.0.1:9/jobs");
    assert.equal(r.headers.authorization, "Bearer t");
    assert.equal(r.poll!.url, "http://127.0.0.1:9/jobs/{{ captures.id }}");
    assert.equal(r.download!.url, "http://127.0.0.1:9/jobs/{{ captures.id }}/result?by=t");
  });
});

describe("environmentScope: metric sources", () => {
  const text = `apiVersion: gantry/v1
metadata: { name: r, service: s }
environments:
  prod:
    metrics:
      posthog: { type: posthog, url: "http://127.0.0.1:9", project: "1", token: env:GANTRY_TEST_POSTHOG_TOKEN }
      prom: { type: prometheus, url: "http://127.0.0.1:9", headers: { Authorization: env:GANTRY_TEST_PROM_AUTH } }
deploy: { provider: command, deploy: "true", rollback: "true" }
`;

  it("reads a token or header given as a secret reference, and masks its value", () => {
    process.env.GANTRY_TEST_POSTHOG_TOKEN = "phx_scope_test_token_value";
    process.env.GANTRY_TEST_PROM_AUTH = "Bearer prom_scope_test_value";
    try {
      const runbook = parseRunbookText(text);
      assert.ok(runbook);
      const scope = environmentScope(runbook, "prod", "runbook.yaml");
      const posthog = Probe.parse({ type: "posthog", source: "posthog", event: "e" });
      const prom = Probe.parse({ type: "prometheus", source: "prom", query: "up" });
      const p = scope.probeEnvironment(posthog).metrics!.posthog as { token: string };
      assert.equal(p.token, "phx_scope_test_token_value");
      const q = scope.probeEnvironment(prom).metrics!.prom as { headers: Record<string, string> };
      assert.equal(q.headers.Authorization, "Bearer prom_scope_test_value");
      assert.doesNotMatch(scope.secrets.redact("t=phx_scope_test_token_value"), /phx_scope_test_token_value/);
      assert.doesNotMatch(scope.secrets.redact("Bearer prom_scope_test_value"), /prom_scope_test_value/);
    } finally {
      delete process.env.GANTRY_TEST_POSTHOG_TOKEN;
      delete process.env.GANTRY_TEST_PROM_AUTH;
    }
  });
});
