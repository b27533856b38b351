/**
 * The gate step's environment: `env:` values are templates, filled (secrets included) before
 * the command runs, and reach it as plain values.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CommandResult } from "../exec/command.js";
import type { StepContext } from "./contract.js";
import { gate } from "./gate.js";

test("a gate's env values are filled in from the run's values before its command runs", async () => {
  let seen: Record<string, string> | undefined;
  const ctx = {
    facts: {},
    noCache: true,
    fillCommand: (t: string) => t,
    render: (t: string) => t.replace("{{ secrets.snyk_token }}", "snyk-secret-value"),
    command: async (_step: string, _t: string, _ms: number, options?: { env?: Record<string, string> }) => {
      seen = options?.env;
      return {
        exitCode: 0,
        timedOut: false,
        aborted: false,
        output: [],
        stdout: "",
        durationMs: 1,
      } as CommandResult;
    },
  } as unknown as StepContext;
  const step = {
    id: "gate:snyk",
    kind: "gate",
    gate: {
      name: "snyk",
      run: "npx snyk test",
      env: { SNYK_TOKEN: "{{ secrets.snyk_token }}", PLAIN: "as written" },
      timeout: { ms: 1000, text: "1s" },
      cache: false,
    },
  };
  const r = await gate.run(step as never, ctx);
  assert.equal(r.ok, true, r.message);
  assert.deepEqual(seen, { SNYK_TOKEN: "snyk-secret-value", PLAIN: "as written" });
});
