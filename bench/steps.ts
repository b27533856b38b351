/**
 * Engine overhead per durable step, next to a bare DBOS step in the same workflow run: the
 * run alternates a bare `DBOS.runStep` with the engine's step wrapper (`RunDurable.tracked`:
 * the crash-loop guard, the recorded `step.started` and `step.finished` events, the sealing of
 * facts) around a step module that does nothing, so the difference is the engine's own cost.
 */
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { DBOS } from "@dbos-inc/dbos-sdk";
import type { RunContext } from "../src/engine/context.js";
import { RunDurable } from "../src/engine/durable.js";
import { emptyFacts } from "../src/engine/facts.js";
import type { PlanStep } from "../src/runbook/plan/types.js";
import { sealerWith } from "../src/secrets/seal.js";
import type { StepModule } from "../src/steps/contract.js";
import { openDatabase } from "../src/store/database.js";
import { stopServer } from "../src/store/embedded.js";
import { EventStore } from "../src/store/events.js";

type Row = [string, string, string, string];
const N = 300;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const NOTHING: StepModule = { kind: "gate", mode: "act", run: async () => ({ ok: true, message: "done" }) };

export async function stepRows(): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-bench-steps-"));
  fs.chmodSync(dir, 0o755);
  const db = await openDatabase({ dataDir: dir });
  const store = new EventStore(db.pool);
  const sealer = sealerWith(randomBytes(32), "bench");
  const compare = DBOS.registerWorkflow(
    async (runId: string) => {
      const ctx = { runId, store, facts: emptyFacts(), redact: (t: string) => t } as unknown as RunContext;
      const durable = new RunDurable(ctx, sealer, {
        nextDueAt: () => undefined,
        due: async () => undefined,
        notify: async () => undefined,
        monitorUntil: async () => ({ summary: "" }),
        transition: async () => {
          throw new Error("no transition in the bench");
        },
        control: async () => undefined,
        rollingBack: () => false,
      });
      const bare: number[] = [];
      const engine: number[] = [];
      for (let i = 0; i < N; i++) {
        let t = performance.now();
        await DBOS.runStep(async () => ({ ok: true, message: "done" }), { name: `bare:${i}` });
        bare.push(performance.now() - t);
        const step = { id: `gate:g${i}`, kind: "gate", title: `g${i}` } as PlanStep;
        t = performance.now();
        await durable.tracked("bench", step, NOTHING);
        engine.push(performance.now() - t);
      }
      return { bare, engine };
    },
    { name: "bench-step-overhead" },
  );
  DBOS.setConfig({ name: "gantry-bench", systemDatabaseUrl: db.url, logLevel: "error" });
  await DBOS.launch();
  try {
    const handle = await DBOS.startWorkflow(compare)(`bench-${randomUUID()}`);
    const { bare, engine } = await handle.getResult();
    const b = median(bare);
    const e = median(engine);
    const ratio = e / b;
    return [
      [
        `durable step: bare DBOS.runStep (median of ${N}, embedded Postgres)`,
        `${b.toFixed(2)} ms`,
        "printed",
        "npm run bench",
      ],
      [
        `durable step through the engine (crash guard, step.started + step.finished, same run; median of ${N})`,
        `${e.toFixed(2)} ms (${ratio.toFixed(2)}× the bare step), ${ratio <= 1.5 ? "met" : "missed"}`,
        "≤ 1.5× the bare DBOS step",
        "npm run bench",
      ],
    ];
  } finally {
    await DBOS.shutdown();
    await db.close();
    await stopServer(path.join(dir, "postgres"));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
