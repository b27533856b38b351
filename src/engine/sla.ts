/**
 * Response targets for an incident (a P0/P1 rule that fired and rolled the release back):
 * `mitigate` is met when the rollback completed within it; `ack` when someone answered
 * `gantry ack RUN` within it. A target that runs out is recorded as a breach, and the next
 * role of the severity's `escalation` list is paged (`role.paged`); an unacknowledged
 * incident is paged up the list, one `ack` period per role, before the run ends.
 *
 * A rule that pauses the release for a person (`pause`) starts the `ack` target of its
 * severity too (AckTimer): the person's answer acknowledges it; each period that runs out is
 * a breach that pages the next role, while the release stays paused.
 *
 * Everything here is a recorded event or a durable wait of the run, so a crash in the middle
 * of waiting for an acknowledgement resumes the same wait, with the same deadline.
 */
import { formatMs } from "../exec/command.js";
import type { ReleasePlan } from "../runbook/plan/types.js";
import type { Moment } from "../steps/contract.js";
import { Escalation, type Page, withWhy } from "../steps/escalation.js";
import type { RunContext } from "./context.js";
import type { RunDurable } from "./durable.js";
import type { Notifier } from "./notifier.js";

export interface Incident {
  id: string;
  severity: string;
}

export async function settleSla(
  incident: Incident,
  detected: number,
  /** When the rollback completed; undefined when it could not. */
  mitigatedAt: number | undefined,
  moment: Moment,
  ctx: RunContext,
  d: RunDurable,
  notifier: Notifier,
): Promise<void> {
  const sla = ctx.plan.slas?.[incident.severity];
  if (!sla) return;
  const id = `sla:${incident.id}`;
  const label = `${incident.severity} ${incident.id}`;
  const { escalation, started } = escalationOf(ctx.plan, incident.severity, moment.rule?.name);
  const breach = async (target: "ack" | "mitigate", text: string, key: string) => {
    const paged = await escalation.next(() => d.now());
    await d.event({
      key: `${id}:breached:${key}`,
      kind: "sla.breached",
      step: id,
      data: breachData(incident.id, incident.severity, target, text, paged),
    });
    if (paged.page)
      await notifier.emit("role.paged", `${id}:${key}`, {
        ...moment,
        reason: withWhy(text, paged),
        page: paged.page,
      });
  };

  await d.started(id, "sla", `response targets of ${label}`);
  // Not `${id}:started`: that key is the step's own step.started.
  await d.event({
    key: `${id}:timers`,
    kind: "sla.started",
    step: id,
    data: {
      incident: incident.id,
      severity: incident.severity,
      ackBy: new Date(detected + sla.ackMs).toISOString(),
      mitigateBy: new Date(detected + sla.mitigateMs).toISOString(),
      ...started,
    },
  });
  if (mitigatedAt === undefined) {
    await breach("mitigate", `${label} not mitigated: the rollback did not complete`, "mitigate");
  } else if (mitigatedAt - detected > sla.mitigateMs) {
    await breach(
      "mitigate",
      `${label} mitigated in ${formatMs(mitigatedAt - detected)}, over its target of ${formatMs(sla.mitigateMs)}`,
      "mitigate",
    );
  } else {
    await d.event({
      key: `${id}:mitigated`,
      kind: "sla.met",
      step: id,
      data: { incident: incident.id, target: "mitigate", ms: mitigatedAt - detected },
    });
  }

  let deadline = detected + sla.ackMs;
  for (let round = 0; ; round++) {
    const what = `acknowledgement of ${label} by ${new Date(deadline).toISOString().slice(11, 19)} UTC`;
    await d.event({
      key: `${id}:waiting${round > 0 ? `#${round}` : ""}`,
      kind: "approval.waiting",
      step: id,
      data: { what, needed: 1, form: "ack", approvers: [], allowSelfApproval: true },
    });
    const msg = await d.receive(deadline);
    if (msg === undefined) {
      const text = `${label} not acknowledged within ${formatMs(sla.ackMs * (round + 1))}`;
      await breach("ack", text, `ack#${round}`);
      if (escalation.done) {
        await d.finished(id, "failed", `${text}; every role of the escalation was paged`);
        return;
      }
      deadline += sla.ackMs;
      continue;
    }
    if (msg.type === "approve" && (msg.step === undefined || msg.step === id)) {
      const at = await d.now();
      await d.event({
        key: `${id}:acked`,
        kind: "sla.met",
        step: id,
        data: { incident: incident.id, target: "ack", ms: at - detected, by: msg.by },
      });
      const late = at > detected + sla.ackMs ? " (late)" : "";
      await d.finished(id, "passed", `acknowledged by ${msg.by} after ${formatMs(at - detected)}${late}`);
      return;
    }
    if (msg.type !== "approve" && msg.type !== "reject") await d.control(msg);
  }
}

type SlaPlan = NonNullable<ReleasePlan["slas"][string]>;

/** A fired rule's alarm: its severity, when it fired, and the rule's name. */
export interface Alarm {
  severity: string;
  firedAt: number;
  rule?: string;
}

/** What a breach records: the target, the message, and who was paged and why. */
function breachData(
  incident: string,
  severity: string,
  target: "ack" | "mitigate",
  message: string,
  p: Page,
) {
  return {
    incident,
    severity,
    target,
    message,
    escalatedTo: p.page?.role ?? null,
    ...(p.page?.for ? { for: p.page.for } : {}),
    ...(p.why ? { why: p.why } : {}),
  };
}

/** The escalation of a severity's incident: its rule's component's, when the rule names one, else the SLA's. */
function escalationOf(plan: ReleasePlan, severity: string, rule: string | undefined) {
  const sla = plan.slas?.[severity];
  const named = plan.monitor?.spec.rules.find((r) => r.name === rule)?.component;
  const component = named ? plan.paging?.components[named] : undefined;
  const list = component ? component.escalation : (sla?.escalation ?? []).map((e) => e.role);
  const which = component ? { component: named } : {};
  return {
    escalation: new Escalation(plan, list, { severity, ...which }),
    started: { escalation: list, ...which },
  };
}

/** The acknowledgement target of a paused rule, from the moment the rule fired. */
export class AckTimer {
  private breaches = 0;

  private constructor(
    private readonly sla: SlaPlan,
    private readonly escalation: Escalation,
    private readonly key: string,
    private readonly severity: string,
    private readonly from: number,
    private readonly d: RunDurable,
    private readonly notifier: Notifier,
  ) {}

  /** Starts the timer when the severity has a response target; undefined when it has none. */
  static async start(
    plan: ReleasePlan,
    key: string,
    alarm: Alarm,
    d: RunDurable,
    notifier: Notifier,
  ): Promise<AckTimer | undefined> {
    const sla = plan.slas?.[alarm.severity];
    if (!sla) return undefined;
    const { escalation, started } = escalationOf(plan, alarm.severity, alarm.rule);
    await d.event({
      key: `sla:${key}:started`,
      kind: "sla.started",
      step: key,
      data: {
        incident: key,
        severity: alarm.severity,
        ackBy: new Date(alarm.firedAt + sla.ackMs).toISOString(),
        ...started,
      },
    });
    return new AckTimer(sla, escalation, key, alarm.severity, alarm.firedAt, d, notifier);
  }

  /** When the next period runs out; undefined once every role of the escalation had its turn. */
  get deadline(): number | undefined {
    return this.breaches === 0 || !this.escalation.done
      ? this.from + (this.breaches + 1) * this.sla.ackMs
      : undefined;
  }

  /** A period ran out unanswered: a breach, and the next role paged. */
  async breached(reason: string): Promise<void> {
    const paged = await this.escalation.next(() => this.d.now());
    this.breaches += 1;
    const text = `${this.severity} ${reason}: not acknowledged within ${formatMs(this.breaches * this.sla.ackMs)}`;
    await this.d.event({
      key: `sla:${this.key}:breached:ack#${this.breaches}`,
      kind: "sla.breached",
      step: this.key,
      data: breachData(this.key, this.severity, "ack", text, paged),
    });
    if (paged.page)
      await this.notifier.emit("role.paged", `sla:${this.key}:ack#${this.breaches}`, {
        reason: withWhy(text, paged),
        page: paged.page,
      });
  }

  /** Someone answered: the acknowledgement, late or not. */
  async answered(by: string, at: number): Promise<void> {
    await this.d.event({
      key: `sla:${this.key}:acked`,
      kind: "sla.met",
      step: this.key,
      data: { incident: this.key, target: "ack", ms: at - this.from, by },
    });
  }
}
