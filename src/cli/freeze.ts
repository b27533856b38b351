/**
 * `gantry freeze ENV --until TIME --reason TEXT`, `gantry freezes`, `gantry unfreeze ID` and
 * `gantry override RUN --reason TEXT`: parse, call the application layer (src/app/freezes.ts),
 * print.
 */
import { declaredFreezes, declareFreeze, liftFreeze, overrideWindow } from "../app/freezes.js";
import { asOption, identify } from "../app/identity.js";
import { UsageError } from "../errors.js";
import { parseDuration } from "../runbook/duration.js";
import type { DatabaseOptions } from "../store/database.js";
import { withControl } from "./executor.js";
import { err, json, out } from "./output.js";

type Common = DatabaseOptions & { as?: string; json?: boolean };

/** An ISO 8601 time, or a duration from now (`2h`, `3d`). */
function when(text: string, flag: string): Date {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(Date.now() + ms);
  const t = Date.parse(text);
  if (Number.isNaN(t) || !/\d{4}-\d{2}-\d{2}/.test(text))
    throw new UsageError(
      `${flag} ${text}: write an ISO 8601 time (2025-12-20T00:00-05:00) or a duration from now (2h, 3d)`,
    );
  return new Date(t);
}

export async function freeze(
  env: string,
  options: Common & { until: string; reason: string; from?: string; service?: string },
) {
  const until = when(options.until, "--until");
  const from = options.from ? when(options.from, "--from") : new Date();
  await withControl(options, async (control) => {
    const who = await identify(control.db.pool, asOption(options));
    const f = await declareFreeze(control.store, who, {
      environment: env,
      ...(options.service ? { service: options.service } : {}),
      from,
      until,
      reason: options.reason,
    });
    if (options.json) return json(f);
    out(
      `froze ${env}${f.service ? ` for ${f.service}` : ""} from ${f.from} until ${f.until}: ${f.reason} (freeze ${f.id}, by ${f.by})`,
    );
    err(`Releases there wait at their window check until then; lift it early with: gantry unfreeze ${f.id}`);
  });
}

export async function freezes(options: Common & { env?: string; all?: boolean }) {
  await withControl(options, async (control) => {
    const now = Date.now();
    const list = (await declaredFreezes(control.store)).filter(
      (f) =>
        (options.env === undefined || f.environment === options.env) &&
        (options.all || (!f.lifted && Date.parse(f.until) > now)),
    );
    if (options.json) return json(list);
    if (list.length === 0)
      return out(
        options.all ? "no freezes declared" : "no freezes in force (--all lists lifted and past ones)",
      );
    for (const f of list) {
      const state = f.lifted
        ? `lifted by ${f.lifted.by} at ${f.lifted.at}`
        : Date.parse(f.until) <= now
          ? "over"
          : Date.parse(f.from) > now
            ? "coming"
            : "in force";
      out(
        `${f.id}  ${f.environment}${f.service ? `/${f.service}` : ""}  ${f.from} → ${f.until}  ${state}  ${f.reason} (by ${f.by})`,
      );
    }
  });
}

export async function unfreeze(id: string, options: Common & { reason?: string }) {
  await withControl(options, async (control) => {
    const who = await identify(control.db.pool, asOption(options));
    const f = await liftFreeze(control.store, who, id, options.reason);
    out(`lifted freeze ${id} of ${f.environment} (declared by ${f.by}: ${f.reason})`);
  });
}

export async function override(runId: string, options: Common & { reason: string }) {
  await withControl(options, async (control) => {
    const who = await identify(control.db.pool, asOption(options));
    const a = await overrideWindow(control, runId, who, options.reason);
    out(
      `overrode the closed window of ${runId} as ${a.by}${a.role ? ` for ${a.role}` : ""} (${a.count}/${a.needed}): ${options.reason}`,
    );
    if (a.interrupted) err(`The run is interrupted; it goes on with: gantry resume ${runId}`);
  });
}
