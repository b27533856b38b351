/**
 * A channel's courier: one DBOS workflow per run and channel that delivers that run's messages
 * to the channel in the order they were sent, one at a time, paced (Slack: a second apart),
 * retried on the channel's schedule (a server's Retry-After wins when longer), and recorded.
 *
 * Exactly once: a message reaches the courier through a durable send, so it is never lost,
 * and each attempt is a recorded step that first looks in the run's log. An attempt that was
 * cut off (the process died) after the receiver accepted the message but before the record
 * finds `notify.sent` if it was written, or asks the channel whether it has the message (Slack
 * Web API: by its key in the message metadata); a channel that cannot tell gets the message
 * again with the same key (webhook-id, Message-ID) for the receiver to recognize. The Slack
 * thread (its first message's ts) is in the courier's recorded results, so it survives too.
 *
 * The courier ends when the run says nothing more comes, or, failing that, once the run is over.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { createChannel } from "../channels/registry.js";
import type { Channel, Delivery, Message, Thread } from "../channels/types.js";
import { environmentScope } from "../checks/scope.js";
import { parseRunbookText } from "../runbook/load.js";
import type { ChannelSpec } from "../runbook/schema/notify.js";
import { failpoint, type NewEvent } from "../store/events.js";
import { engineEnvironment } from "./environment.js";
import { maskDeep } from "./facts.js";

export interface CourierInput {
  runId: string;
  channel: string;
  env: string;
  file: string;
  /** The runbook's text as the run recorded it: the channel's spec and secrets come from here. */
  source: string;
}

/** A rendered message on its way. `eventKey` is the base of its events' keys in the run's log. */
export interface Outgoing {
  eventKey: string;
  channel: string;
  template: string;
  required: boolean;
  message: Message;
}

/** What the courier tells the run about a required message. */
export interface NotifyResult {
  eventKey: string;
  ok: boolean;
  error?: string;
}

/** How long the courier waits for the next message before it looks whether the run is over. */
const IDLE_S = 600;

export function courierId(runId: string, channel: string): string {
  return `${runId}/notify/${channel}`;
}

let registered: ((input: CourierInput) => Promise<{ sent: number; failed: number }>) | undefined;

/** The courier workflow, registered with DBOS (before launch) under the name `notify`. */
export function courierWorkflow(): (input: CourierInput) => Promise<{ sent: number; failed: number }> {
  registered ??= DBOS.registerWorkflow(courier, { name: "notify" });
  return registered;
}

async function courier(input: CourierInput): Promise<{ sent: number; failed: number }> {
  const post = new Post(input);
  let sent = 0;
  let failed = 0;
  for (;;) {
    const item = await DBOS.recv<Outgoing | { end: true }>("notify", IDLE_S);
    if (item === null) {
      if (await DBOS.runStep(() => runOver(input.runId), { name: "run-over" })) break;
      continue;
    }
    if ("end" in item) break;
    const r = await post.deliver(item);
    if (r.ok) sent++;
    else failed++;
    if (item.required) await DBOS.send(input.runId, r, "notify-result");
  }
  return { sent, failed };
}

async function runOver(runId: string): Promise<boolean> {
  if (await engineEnvironment().store.find(runId, "finished")) return true;
  const status = await DBOS.getWorkflowStatus(runId);
  return !status || ["SUCCESS", "ERROR", "CANCELLED"].includes(status.status);
}

/** One channel of one run: the channel, its thread, and when it last posted. */
class Post {
  private readonly channel: Channel | undefined;
  private readonly spec: ChannelSpec | undefined;
  private readonly problem: string | undefined;
  private readonly redact: (text: string) => string;
  private thread: Thread | undefined;
  /**
   * When this process last posted here (epoch ms). Pacing waits inside the recorded attempt, so
   * a replay takes the same steps; after a restart the first post does not wait (a 429 would).
   */
  private lastPost = 0;

  constructor(private readonly input: CourierInput) {
    const runbook = parseRunbookText(input.source, input.env);
    this.spec = runbook?.notify?.channels[input.channel];
    const scope = runbook ? environmentScope(runbook, input.env, input.file) : undefined;
    this.redact = scope?.secrets.redact ?? ((t) => t);
    try {
      if (!runbook || !scope || !this.spec) throw new Error(`no channel ${input.channel} in the runbook`);
      this.channel = createChannel(this.spec, input.channel, {
        field: scope.field,
        redact: this.redact,
        dir: scope.dir,
      });
    } catch (e) {
      this.problem = `channel ${input.channel} cannot be used: ${this.redact((e as Error).message)}`;
    }
  }

  async deliver(item: Outgoing): Promise<NotifyResult> {
    const about = {
      message: item.eventKey,
      channel: item.channel,
      event: item.message.event,
      template: item.template,
    };
    const failed = async (attempts: number, error: string): Promise<NotifyResult> => {
      await this.event({
        key: `${item.eventKey}:failed`,
        kind: "notify.failed",
        data: { ...about, attempts, error, required: item.required },
      });
      return { eventKey: item.eventKey, ok: false, error };
    };
    const channel = this.channel;
    const spec = this.spec;
    if (!channel || !spec) return failed(0, this.problem ?? "no channel");
    const message: Message = { ...item.message, ...(this.thread ? { thread: this.thread } : {}) };
    for (let attempt = 1; ; attempt++) {
      const d = await DBOS.runStep(() => this.attempt(channel, spec, item, message, attempt), {
        name: `${item.eventKey}:${attempt}`,
      });
      if (d.ok) {
        if (d.thread && !this.thread) this.thread = d.thread;
        await this.showStatus(channel, spec, message, item.eventKey);
        return { eventKey: item.eventKey, ok: true };
      }
      if (!d.retryable || attempt > spec.retry.length) return failed(attempt, d.error);
      const waitMs = Math.max(spec.retry[attempt - 1]!.ms, d.retryAfterMs ?? 0);
      await this.event({
        key: `${item.eventKey}:retry:${attempt}`,
        kind: "notify.retry",
        data: { ...about, attempt, error: d.error, waitMs },
      });
      await DBOS.sleep(waitMs);
    }
  }

  /** One attempt, as a recorded step: what a cut-off earlier execution of it did is looked up first. */
  private async attempt(
    channel: Channel,
    spec: ChannelSpec,
    item: Outgoing,
    message: Message,
    attempt: number,
  ): Promise<Delivery> {
    const { store } = engineEnvironment();
    const done = await store.find(this.input.runId, `${item.eventKey}:sent`);
    if (done) return delivered(done.data);
    const key = `${item.eventKey}:attempt:${attempt}`;
    const bound = () => AbortSignal.timeout(spec.timeout.ms + 5000);
    if ((await store.find(this.input.runId, key)) && channel.find) {
      const found = await channel.find(message, bound()).catch(() => undefined);
      if (found?.ok) return this.sent(item, attempt, found);
    }
    const wait = this.lastPost + channel.minIntervalMs - Date.now();
    if (wait > 0) await sleep(wait);
    await this.event({
      key,
      kind: "notify.attempt",
      data: {
        message: item.eventKey,
        channel: item.channel,
        event: message.event,
        template: item.template,
        attempt,
      },
    });
    const d = await channel
      .send(message, bound())
      .catch((e): Delivery => ({ ok: false, error: this.redact((e as Error).message), retryable: true }));
    this.lastPost = Date.now();
    if (!d.ok) return { ...d, error: this.redact(d.error) };
    failpoint(`${item.eventKey}:accepted`);
    return this.sent(item, attempt, d);
  }

  private async sent(item: Outgoing, attempt: number, d: Extract<Delivery, { ok: true }>): Promise<Delivery> {
    await this.event({
      key: `${item.eventKey}:sent`,
      kind: "notify.sent",
      data: {
        message: item.eventKey,
        channel: item.channel,
        event: item.message.event,
        template: item.template,
        attempt,
        id: d.id,
        detail: d.detail,
        excerpt: excerpt(item.message.text),
        ...(d.thread ? { thread: d.thread } : {}),
      },
    });
    return d;
  }

  /** The thread's first message shows the release's status now (Slack Web API); a failure here is no failure of the message. */
  private async showStatus(
    channel: Channel,
    spec: ChannelSpec,
    message: Message,
    eventKey: string,
  ): Promise<void> {
    const thread = this.thread;
    if (!thread || !channel.updateThread) return;
    await DBOS.runStep(
      () =>
        channel.updateThread!(thread, message, AbortSignal.timeout(spec.timeout.ms + 5000)).catch(
          () => undefined,
        ),
      { name: `${eventKey}:status` },
    );
  }

  private async event(e: NewEvent): Promise<void> {
    const { store } = engineEnvironment();
    await store.append(this.input.runId, { ...e, data: maskDeep(e.data, this.redact) } as NewEvent);
  }
}

function delivered(data: Record<string, unknown>): Delivery {
  return {
    ok: true,
    id: String(data.id ?? ""),
    detail: String(data.detail ?? ""),
    ...(data.thread ? { thread: data.thread as Thread } : {}),
  };
}

/** The first line of a message, shortened: what `gantry log` shows of it. */
export function excerpt(text: string, max = 80): string {
  const line = text.split("\n").find((l) => l.trim()) ?? "";
  const t = line.trim().replace(/\s+/g, " ");
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
