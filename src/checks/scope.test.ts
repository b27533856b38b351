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

describe("environmentScope", () => {
  it("reads a metric source's token given as a secret reference, as its url", () => {
    const runbook = parseRunbookText(`apiVersion: gantry/v1
metadata: { name: r, service: s }
environments:
  prod:
    metrics:
      sentry: { type: sentry, url: "env:SCOPE_TEST_SENTRY_URL", org: o, project: p, token: "env:SCOPE_TEST_SENTRY_TOKEN" }
`)!;
    process.env.SCOPE_TEST_SENTRY_URL = "http://127.0.0.1:9";
    process.env.SCOPE_TEST_SENTRY_TOKEN = "sntrys_value";
    try {
      const scope = environmentScope(runbook, "prod", "/tmp/runbook.yaml");
      const probe = Probe.parse({ type: "sentry", source: "sentry", measure: "errors" });
      const source = scope.probeEnvironment(probe).metrics!.sentry as { url: string; token: string };
      assert.equal(source.url, "http://127.0.0.1:9");
      assert.equal(source.token, "sntrys_value");
    } finally {
      delete process.env.SCOPE_TEST_SENTRY_URL;
      delete process.env.SCOPE_TEST_SENTRY_TOKEN;
    }
  });
});
