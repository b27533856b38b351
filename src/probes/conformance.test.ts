/**
 * The shared probe conformance suite. It finds every `<type>.conformance.js` beside it (see
 * conformance.ts), starts what each one measures, and checks the probe contract on it, through
 * the registry (`measure`) and the implementation alike. A registered probe type without a
 * conformance file fails the suite.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it, test } from "node:test";
import type { Probe } from "../runbook/schema/probes.js";
import type { ConformanceCase, ConformanceTargets } from "./conformance.js";
import { measure, probeFor, SUPPORTED_PROBE_TYPES } from "./index.js";
import type { Measurement, ProbeContext } from "./types.js";

const here = import.meta.dirname;
const cases: ConformanceCase[] = [];
for (const file of fs.readdirSync(here).sort()) {
  if (!file.endsWith(".conformance.js")) continue;
  const mod = (await import(path.join(here, file))) as { conformance?: ConformanceCase };
  assert.ok(mod.conformance, `${file} exports no \`conformance\` case`);
  assert.equal(`${mod.conformance.type}.conformance.js`, file, `${file} is named after its probe type`);
  cases.push(mod.conformance);
}

const PHASES = ["successful", "failed", "error", "inconclusive"];

function assertContract(m: Measurement): void {
  assert.ok(PHASES.includes(m.phase), `phase ${m.phase}`);
  assert.equal(typeof m.message, "string");
  assert.ok(m.message.trim().length > 0, "message is not empty");
  assert.ok(!/[\r\n]/.test(m.message), `message is one line: ${JSON.stringify(m.message)}`);
  for (const stamp of [m.startedAt, m.finishedAt]) {
    assert.equal(typeof stamp, "string");
    assert.equal(new Date(stamp).toISOString(), stamp, `ISO timestamp: ${stamp}`);
  }
  assert.ok(Date.parse(m.finishedAt) >= Date.parse(m.startedAt), "finishedAt ≥ startedAt");
}

/** Measures through the registry and the implementation alike; neither may throw. */
async function both(spec: Probe, context: ProbeContext = {}): Promise<Measurement[]> {
  const implementation = probeFor(spec.type)!;
  const results = [await measure(spec, context), await implementation.measure(spec as never, context)];
  for (const m of results) assertContract(m);
  return results;
}

/** The same spec with another timeout. */
function withTimeout(spec: Probe, text: string, ms: number): Probe {
  return { ...spec, timeout: { text, ms } } as Probe;
}

test("every supported probe type has a conformance case", () => {
  assert.ok(SUPPORTED_PROBE_TYPES.length > 0);
  const covered = new Set(cases.map((c) => c.type));
  for (const type of SUPPORTED_PROBE_TYPES) {
    assert.ok(covered.has(type), `add src/probes/${type}.conformance.ts`);
    assert.equal(probeFor(type)?.type, type);
  }
});

test("an unknown type is an error, not a throw", async () => {
  const m = await measure({ type: "carrier-pigeon" } as unknown as Probe);
  assertContract(m);
  assert.equal(m.phase, "error");
  assert.equal(m.message, "probe type carrier-pigeon is not supported by this version");
  assert.equal(probeFor("constructor" as Probe["type"]), undefined);
  assertContract(await measure(undefined as unknown as Probe));
});

for (const c of cases) {
  describe(`probe conformance: ${c.type}`, () => {
    let targets: ConformanceTargets;
    const stops: Array<() => unknown> = [];
    before(async () => {
      targets = await c.setup((stop) => stops.push(stop));
    });
    after(async () => {
      for (const stop of stops.reverse()) await stop();
    });
    const ctx = (extra: ProbeContext = {}): ProbeContext => ({ ...targets.context, ...extra });

    it("is successful on a healthy target", async () => {
      for (const m of await both(targets.healthy, ctx())) assert.equal(m.phase, "successful", m.message);
    });

    it("is failed, not an error, when it measured and the expectation does not hold", async () => {
      for (const m of await both(targets.failing, ctx())) assert.equal(m.phase, "failed", m.message);
    });

    it("is an error when nothing answers", async () => {
      for (const m of await both(targets.unreachable, ctx())) assert.equal(m.phase, "error", m.message);
    });

    it("is an error, saying so, when the target hangs past the timeout", async () => {
      const started = Date.now();
      for (const m of await both(targets.hanging, ctx())) {
        assert.equal(m.phase, "error", m.message);
        assert.match(m.message, /timed out after 300ms/);
      }
      // Generous: only a probe that ignores its timeout waits this long.
      assert.ok(Date.now() - started < 10_000, "the timeout is enforced");
    });

    it("is an error when the step is cancelled, before or during the measurement", async () => {
      for (const m of await both(targets.hanging, ctx({ signal: AbortSignal.abort() }))) {
        assert.equal(m.phase, "error", m.message);
        assert.match(m.message, /cancelled/);
      }
      // A long timeout: the measurement ends because it was cancelled, not because it timed out.
      const long = withTimeout(targets.hanging, "60s", 60_000);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const m = await measure(long, ctx({ signal: controller.signal }));
      assertContract(m);
      assert.equal(m.phase, "error", m.message);
      assert.match(m.message, /cancelled/);
    });

    it("lets no secret through: message, value and detail are redacted", async () => {
      const { spec, value } = targets.secret;
      const redact = (text: string) => text.replaceAll(value, "***");
      for (const m of await both(spec, ctx({ redact }))) {
        const shown = JSON.stringify({ message: m.message, value: m.value, detail: m.detail });
        assert.ok(!shown.includes(value), `the secret shows: ${shown}`);
      }
    });

    it("answers garbage and bad addresses with an error, never a pass", async () => {
      for (const { what, spec } of targets.errors ?? []) {
        for (const m of await both(spec, ctx())) assert.equal(m.phase, "error", `${what}: ${m.message}`);
      }
    });

    it("never throws, whatever the spec holds", async () => {
      const broken = { ...targets.healthy, timeout: { text: "1s", ms: 1000 } } as Record<string, unknown>;
      for (const key of Object.keys(broken)) {
        if (key === "type" || key === "timeout") continue;
        broken[key] = { nonsense: [1, 2] };
      }
      for (const m of await both(broken as unknown as Probe, ctx())) assert.notEqual(m.phase, "successful");
    });
  });
}
