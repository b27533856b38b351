/**
 * Rollback: a choice between options. In order:
 *   1. the first option whose `when` holds on the monitor's signals, measured now through the
 *      probes the monitor uses;
 *   2. else, when `by` names a role, the option one of its members picks
 *      (`gantry approve RUN --choice NAME`), within `timeout` when it has one;
 *   3. else, or when nobody picks in time, `default`.
 * The measurement, the answer and the choice itself are recorded results, so a replay takes
 * the same option. The engine then runs the chosen option's steps (src/engine/rollback.ts).
 */
import { judge } from "../../analysis/judge.js";
import { formatMs } from "../../exec/command.js";
import type { Measurement, Value } from "../../probes/types.js";
import type { RollbackChoice } from "../../runbook/plan/types.js";
import type { StepContext, StepModule } from "../contract.js";

/** How an option was chosen, as recorded with the step's result and in the `rollback.chosen` event. */
export interface Chosen {
  option: string;
  by: "condition" | "person" | "default";
  /** Why, in words: the condition with its values, the person and role, or why the default. */
  reason: string;
  /** Each signal the conditions read, as measured when the choice was made. */
  signals?: Record<string, { phase: string; value: Value | null; message: string }>;
  /** Each option's condition and what it came to. */
  judged?: Array<{ option: string; when: string; state: string; detail?: string }>;
  person?: string;
  role?: string;
}

export const choose: StepModule<"rollback"> = {
  kind: "rollback",
  mode: "procedure",
  async run(step, ctx) {
    if (step.form !== "choose") throw new Error(`${step.id} is not a choice`);
    const c = step.choice;
    const measured = await byCondition(step.id, c, ctx);
    const chosen: Chosen =
      measured.option !== undefined
        ? (measured as Chosen)
        : c.by
          ? { ...measured, ...(await byPerson(step.id, c, ctx, measured.reason)) }
          : { ...measured, option: c.default, by: "default", reason: `default (${measured.reason})` };
    const r = await ctx.durable.act(`${step.id}:chosen`, async () => ({
      ok: true,
      message: `${chosen.option}: ${chosen.reason}`,
      data: { ...chosen },
    }));
    const data = r.data as unknown as Chosen & Record<string, unknown>;
    await ctx.durable.event({ key: `${step.id}:chosen`, kind: "rollback.chosen", step: step.id, data });
    return r;
  },
};

/** Measures the signals the conditions read (one recorded result) and judges each option's condition in order. */
async function byCondition(
  id: string,
  c: RollbackChoice,
  ctx: StepContext,
): Promise<Omit<Chosen, "option" | "by"> & Partial<Pick<Chosen, "option" | "by">>> {
  const conditional = c.options.filter((o) => o.when);
  if (conditional.length === 0) return { reason: "no option has a condition" };
  const r = await ctx.durable.act(`${id}:signals`, async () => {
    const at = new Date().toISOString();
    const signals: NonNullable<Chosen["signals"]> = {};
    for (const [name, probe] of Object.entries(c.signals)) {
      const m = await ctx.measure(`monitor.signals.${name}`, { probe });
      signals[name] = {
        phase: String(m.data?.phase),
        value: (m.data?.value ?? null) as Value | null,
        message: m.message,
      };
    }
    return { ok: true, message: `measured ${Object.keys(signals).join(", ")}`, data: { signals, at } };
  });
  const signals = r.data!.signals as NonNullable<Chosen["signals"]>;
  const now = String(r.data!.at);
  const measurements: Record<string, Measurement> = {};
  for (const [name, s] of Object.entries(signals))
    measurements[name] = {
      phase: s.phase as Measurement["phase"],
      ...(s.value !== null ? { value: s.value } : {}),
      message: s.message,
      startedAt: now,
      finishedAt: now,
    };
  const baselines: Record<string, Value> = {};
  for (const [key, value] of Object.entries(ctx.facts.baselines))
    if (key.startsWith("signals.")) baselines[key.slice("signals.".length)] = value;
  const judged: NonNullable<Chosen["judged"]> = [];
  for (const o of conditional) {
    const v = judge(o.when!, measurements, baselines);
    const detail = v.state === "true" ? v.described : v.state === "false" ? undefined : v.message;
    judged.push({ option: o.name, when: o.when!.text, state: v.state, ...(detail ? { detail } : {}) });
    if (v.state === "true")
      return {
        option: o.name,
        by: "condition",
        reason: `${o.when!.text} holds: ${v.described}`,
        signals,
        judged,
      };
  }
  const why = judged.map(
    (j) =>
      `${j.when} ${j.state === "false" ? "does not hold" : `is ${j.state}${j.detail ? ` (${j.detail})` : ""}`}`,
  );
  return { reason: `no condition held: ${why.join("; ")}`, signals, judged };
}

/** Asks a member of `by` to pick; nobody in time: the default. */
async function byPerson(
  id: string,
  c: RollbackChoice,
  ctx: StepContext,
  before: string,
): Promise<Pick<Chosen, "option" | "by" | "reason" | "person" | "role">> {
  const d = ctx.durable;
  const role = c.by!.role;
  const names = c.options.map((o) => o.name);
  const what = `choice ${id.replace(/^rollback:/, "")}`;
  const deadline = c.timeout ? (await d.now()) + c.timeout.ms : undefined;
  await d.event({
    key: `${id}:waiting`,
    kind: "approval.waiting",
    step: id,
    data: {
      what,
      needed: 1,
      form: "choice",
      approvers: [{ role, count: 1 }],
      // A rollback is under way: whoever is in the role may pick, the person releasing too.
      allowSelfApproval: true,
      options: c.options.map((o) => ({
        name: o.name,
        ...(o.description ? { description: o.description } : {}),
      })),
      default: c.default,
      ...(deadline !== undefined ? { deadline: new Date(deadline).toISOString() } : {}),
    },
  });
  await d.notify("approval.requested", id, {
    reason: `${what}: a member of ${role} picks one of ${names.join(", ")} (gantry approve RUN --choice NAME)${c.timeout ? `; ${c.default} after ${formatMs(c.timeout.ms)}` : ""}`,
    approval: { what, needed: 1 },
  });
  for (;;) {
    const msg = await d.receive(deadline);
    if (msg === undefined)
      return {
        option: c.default,
        by: "default",
        reason: `default after timeout: nobody of ${role} picked within ${formatMs(c.timeout?.ms ?? 0)} (${before})`,
      };
    if (msg.type === "approve" || msg.type === "reject" || msg.type === "item") {
      // Checked before sending (src/app/authorize.ts); a message for another step or without a valid pick counts for nothing.
      if (msg.type !== "approve" || msg.step !== id || msg.role !== role) continue;
      if (msg.choice === undefined || !names.includes(msg.choice)) continue;
      // The pick is an approval like any other: the release record lists who gave it.
      await d.event({
        key: `approval:${id}:${msg.by}`,
        kind: "approval",
        step: id,
        data: {
          by: msg.by,
          count: 1,
          needed: 1,
          role,
          choice: msg.choice,
          ...(msg.comment ? { comment: msg.comment } : {}),
          ...(msg.authenticated !== undefined ? { authenticated: msg.authenticated } : {}),
        },
      });
      return {
        option: msg.choice,
        by: "person",
        reason: `picked by ${msg.by} for ${role}${msg.comment ? `: ${msg.comment}` : ""}`,
        person: msg.by,
        role,
      };
    }
    // The run is rolling back already: a request to roll back asks for nothing more.
    if (msg.type === "rollback") continue;
    await d.control(msg);
  }
}
