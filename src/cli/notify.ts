/**
 * `gantry notify preview FILE --env ENV --event EVENT [--run RUN] [--json]`: what each message
 * of an event says, filled with sample values or a recorded run's.
 * `gantry notify test FILE --env ENV --channel NAME [--json]`: one test message through a channel.
 */
import { previewMessages, testChannel } from "../app/notify.js";
import { operator, runLog } from "../app/runs.js";
import { EXIT, ExitError, UsageError } from "../errors.js";
import { EVENTS, type NotifyEvent } from "../runbook/schema/notify.js";
import { closest } from "../runbook/suggest.js";
import type { DatabaseOptions } from "../store/database.js";
import { withControl } from "./executor.js";
import { err, json, out } from "./output.js";
import { loadAndPlan } from "./plan.js";

export async function preview(
  file: string,
  options: DatabaseOptions & { env: string; event: string; run?: string; json?: boolean },
): Promise<void> {
  const event = options.event as NotifyEvent;
  if (!EVENTS.includes(event)) {
    const near = closest(options.event, [...EVENTS]);
    throw new UsageError(
      `--event: no event ${options.event}${near ? `; did you mean ${near}?` : ""} (events: ${EVENTS.join(", ")})`,
    );
  }
  const { runbook } = loadAndPlan(file, { env: options.env });
  const events = options.run
    ? await withControl(options, (control) => runLog(control, options.run!))
    : undefined;
  const previews = previewMessages(runbook, file, options.env, event, events);
  if (options.json) return json(previews);
  if (!options.run) err(`(sample values; --run RUN fills in a recorded run's)`);
  for (const p of previews) {
    out(`── ${p.template} → ${p.channel} (${p.type})`);
    if (p.error) {
      out(`   cannot fill in: ${p.error}`);
      continue;
    }
    if (p.subject) out(`Subject: ${p.subject}\n`);
    out(p.text.trimEnd());
    if (p.type === "slack") out(`   [thread status: ${p.status}]`);
    out("");
  }
  if (previews.some((p) => p.error)) throw new ExitError(EXIT.invalid);
}

export async function test(
  file: string,
  options: { env: string; channel: string; as?: string; json?: boolean },
): Promise<void> {
  const { runbook } = loadAndPlan(file, { env: options.env });
  const r = await testChannel(runbook, file, options.env, options.channel, operator(options.as));
  if (options.json) json(r);
  else if (r.ok) out(`sent a test message to ${options.channel} (${r.type}, ${r.target}): ${r.detail}`);
  else err(`gantry: ${options.channel} (${r.type}, ${r.target}) did not take the test message: ${r.error}`);
  if (!r.ok) throw new ExitError(EXIT.invalid);
}
