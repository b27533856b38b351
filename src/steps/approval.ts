/**
 * An approval: a confirmation, a decision or a checklist sign-off. It waits (durably, with its
 * timeout) for enough distinct people; monitoring keeps sampling meanwhile. A rejection or a
 * timeout ends the run as the runbook says: rolled back after the deploy, aborted before it.
 */
import { createHash } from "node:crypto";
import { DateTime } from "luxon";
import { formatMs } from "../exec/command.js";
import type { ApprovalStep } from "../runbook/plan/types.js";
import { windowStatus } from "../runbook/plan/window.js";
import type { EnvironmentSpec } from "../runbook/schema/runbook.js";
import { canonicalJson } from "../store/chain.js";
import type { StepContext, StepModule, StepResult } from "./contract.js";
import { Escalation, withWhy } from "./escalation.js";

export const approval: StepModule<"approval"> = {
  kind: "approval",
  mode: "procedure",
  run: (step, ctx) => ask(step.id, step, ctx),
};

export type ApprovalSpec = Pick<
  ApprovalStep,
  "what" | "needed" | "timeout" | "onTimeout" | "approvers" | "allowSelfApproval" | "inputs" | "form"
> &
  Partial<Pick<ApprovalStep, "choices" | "postpone" | "page" | "items" | "remind" | "escalation">>;

/**
 * Asks for `spec` under step `id`; the result's `next` says what a refusal does to the run.
 * Who may answer is decided before a message is sent (src/app/authorize.ts); here each
 * approval counts once per person, for the role it names, until every role has its count.
 */
export async function ask(
  id: string,
  spec: ApprovalSpec,
  ctx: StepContext,
  /** Asking again under the same step (a window that closed again): keys of its own. */
  round = 0,
): Promise<StepResult> {
  const d = ctx.durable;
  const at = round > 0 ? `#${round}` : "";
  const { what, needed, approvers } = spec;
  await d.event({
    key: `${id}:waiting${at}`,
    kind: "approval.waiting",
    step: id,
    data: {
      what,
      needed,
      form: spec.form,
      approvers,
      allowSelfApproval: spec.allowSelfApproval,
      ...(spec.items ? { items: spec.items } : {}),
    },
  });
  await d.notify("approval.requested", `${id}${at}`, { reason: what, approval: { what, needed } });
  const people = new Set<string>();
  const given: Array<{ by: string; role?: string; comment?: string }> = [];
  /** Checklist items marked done one by one, and by whom. */
  const marked = new Map<number, string>();
  const counted = new Map<string, number>(approvers.map((a) => [a.role, 0]));
  const complete = () =>
    approvers.length === 0
      ? people.size >= needed
      : approvers.every((a) => (counted.get(a.role) ?? 0) >= a.count);
  // Only a request with a time limit reads the clock: the recorded steps of one without stay as they were.
  const asked = spec.timeout || spec.remind ? await d.now() : 0;
  const deadline = spec.timeout ? asked + spec.timeout.ms : undefined;
  let reminders = 0;
  const escalation = new Escalation(
    ctx.plan,
    (spec.escalation ?? []).map((e) => e.role),
  );
  while (!complete()) {
    const remindAt = spec.remind ? asked + (reminders + 1) * spec.remind.ms : undefined;
    const reminding = remindAt !== undefined && (deadline === undefined || remindAt < deadline);
    const msg = await d.receive(reminding ? remindAt : deadline);
    if (msg === undefined && reminding) {
      reminders += 1;
      await remind(id, at, spec, ctx, reminders, people.size, escalation);
      continue;
    }
    if (msg === undefined) {
      const reason = `${what}: no answer within ${formatMs(spec.timeout?.ms ?? 0)}`;
      if (spec.onTimeout === "proceed") return { ok: true, message: `${reason}; proceed` };
      if (d.rollingBack) return { ok: false, message: reason };
      if (spec.onTimeout === "rollback" && ctx.facts.deployed)
        return { ok: false, message: `${reason}; rollback`, next: { to: "rollback", cause: { reason } } };
      return {
        ok: false,
        message: `${reason}; ${spec.onTimeout}`,
        next: { to: "finish", outcome: "aborted", reason: `${reason}${ctx.deployedNote()}` },
      };
    }
    // An answer sent to another step (one that has ended since) counts for nothing here.
    if ((msg.type === "approve" || msg.type === "reject") && msg.step !== undefined && msg.step !== id)
      continue;
    if (msg.type === "item") {
      const text = spec.items?.[msg.item - 1];
      if (msg.step !== id || text === undefined || marked.has(msg.item)) continue;
      marked.set(msg.item, msg.by);
      await d.event({
        key: `${id}${at}:item:${msg.item}`,
        kind: "checklist.item",
        step: id,
        data: {
          item: msg.item,
          text,
          by: msg.by,
          ...(msg.role ? { role: msg.role } : {}),
          ...(msg.comment ? { comment: msg.comment } : {}),
        },
      });
      continue;
    }
    if (msg.type === "approve") {
      if (people.has(msg.by)) continue;
      const role = approvers.length === 0 ? undefined : msg.role;
      const wanted = approvers.find((a) => a.role === role);
      // Checked before sending; a message that no longer fits (the role filled meanwhile) counts for nothing.
      if (approvers.length > 0 && (!wanted || (counted.get(wanted.role) ?? 0) >= wanted.count)) continue;
      people.add(msg.by);
      given.push({ by: msg.by, ...(role ? { role } : {}), ...(msg.comment ? { comment: msg.comment } : {}) });
      if (role) counted.set(role, (counted.get(role) ?? 0) + 1);
      const evidence = spec.inputs.length > 0 ? await measureInputs(id, msg.id, spec, ctx) : undefined;
      await d.event({
        key: `approval:${id}${at}:${msg.by}`,
        kind: "approval",
        step: id,
        data: {
          by: msg.by,
          count: people.size,
          needed,
          ...(role ? { role } : {}),
          ...(msg.comment ? { comment: msg.comment } : {}),
          ...(msg.authenticated !== undefined ? { authenticated: msg.authenticated } : {}),
          ...(evidence ? { evidence } : {}),
        },
      });
    } else if (msg.type === "reject") {
      const verb =
        spec.choices === "go-no-go"
          ? "no-go"
          : spec.choices === "complete-investigate"
            ? "investigate"
            : "rejected";
      const reason = `${what}: ${verb} by ${msg.by}${msg.reason ? `: ${msg.reason}` : ""}`;
      if (d.rollingBack) return { ok: false, message: reason };
      if (spec.choices === "go-no-go" && !ctx.facts.deployed) return postponed(reason, spec, await d.now());
      if (spec.choices === "complete-investigate") {
        // Monitoring goes on; the role (or its backup, off hours) is paged and the decision is asked again.
        const p = await new Escalation(ctx.plan, spec.page ? [spec.page.role] : []).next(() => d.now());
        await d.event({
          key: `${id}${at}:investigate:${msg.id}`,
          kind: "investigation",
          step: id,
          data: {
            by: msg.by,
            reason: msg.reason ?? null,
            paged: p.page?.role ?? null,
            ...(p.why ? { why: p.why } : {}),
          },
        });
        if (p.page)
          await d.notify("role.paged", `${id}${at}:investigate:${msg.id}`, {
            reason: withWhy(reason, p),
            page: p.page,
          });
        continue;
      }
      if (ctx.facts.deployed)
        return { ok: false, message: reason, next: { to: "rollback", cause: { reason } } };
      return {
        ok: false,
        message: reason,
        next: { to: "finish", outcome: "aborted", reason: `${reason}; nothing was deployed` },
      };
    } else {
      await d.control(msg);
    }
  }
  const items = spec.items
    ? `; items ${marked.size}/${spec.items.length} marked one by one${marked.size < spec.items.length ? ", the rest signed off with the whole list" : ""}`
    : "";
  return { ok: true, message: `approved by ${[...people].join(", ")}${items}`, data: { approvals: given } };
}

/** The n-th reminder of a request still waiting: asked again, and the next escalation role paged. */
async function remind(
  id: string,
  at: string,
  spec: ApprovalSpec,
  ctx: StepContext,
  n: number,
  answered: number,
  escalation: Escalation,
): Promise<void> {
  const d = ctx.durable;
  const key = `${id}${at}:remind:${n}`;
  const p = await escalation.next(() => d.now());
  const waited = formatMs(n * (spec.remind?.ms ?? 0));
  await d.event({
    key,
    kind: "approval.reminded",
    step: id,
    data: { reminder: n, paged: p.page?.role ?? null, ...(p.why ? { why: p.why } : {}) },
  });
  await d.notify("approval.requested", key, {
    reason: `reminder ${n}: ${spec.what} has waited ${waited} (${answered}/${spec.needed} answered)`,
    approval: { what: spec.what, needed: spec.needed },
  });
  if (p.page)
    await d.notify("role.paged", key, {
      reason: withWhy(`${spec.what} has waited ${waited} without an answer`, p),
      page: p.page,
    });
}

/** A no-go before the deploy: the run ends postponed, and says when the next window opens. */
function postponed(reason: string, spec: ApprovalSpec, now: number): StepResult {
  const later = DateTime.fromMillis(now + (spec.postpone?.ms ?? 0)).toUTC();
  const status = windowStatus(
    { windows: spec.postpone?.windows ?? [], freezes: spec.postpone?.freezes ?? [] } as EnvironmentSpec,
    later,
  );
  const next = status.open ? later.toISO() : status.nextOpen;
  const text = `${reason}; postponed, nothing was deployed${next ? `; next window: ${next}` : ""}`;
  return {
    ok: false,
    message: text,
    data: { next: next ?? null },
    next: { to: "finish", outcome: "postponed", reason: text },
  };
}

/** The decision's inputs measured now, for the approval `messageId`: recorded once, with a hash of what was seen. */
async function measureInputs(id: string, messageId: string, spec: ApprovalSpec, ctx: StepContext) {
  const r = await ctx.durable.act(`${id}:evidence:${messageId}`, async () => {
    const inputs = [];
    for (const input of spec.inputs) {
      const m = await ctx.measure(`${id}:input:${input.name}`, { probe: input.probe });
      inputs.push({ name: input.name, ok: m.ok, value: m.data?.value ?? null, message: m.message });
    }
    const hash = createHash("sha256").update(canonicalJson(inputs)).digest("hex");
    return { ok: true, message: `evidence ${hash.slice(0, 12)}`, data: { inputs, hash } };
  });
  return r.data as {
    inputs: Array<{ name: string; ok: boolean; value: unknown; message: string }>;
    hash: string;
  };
}
