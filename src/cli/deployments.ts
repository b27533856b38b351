/**
 * `gantry deployments --env NAME`: what the deploy provider recorded for each service in an
 * environment, read from the database: the version serving, the last known good version (the
 * rollback target) and the latest deploy and rollback entries. Read-only, beside a running
 * release; a 0.4 `state.json` not imported yet is imported first (as a release would).
 */
import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../errors.js";
import type { DatabaseOptions } from "../store/database.js";
import { PostgresProviderState } from "../store/provider-state.js";
import type { DeployEntry } from "../store/provider-state-store.js";
import { withControl } from "./executor.js";
import { json, out } from "./output.js";

export interface DeploymentsOptions extends DatabaseOptions {
  env: string;
  service?: string;
  limit?: string;
  json?: boolean;
}

export interface DeploymentView {
  service: string;
  environment: string;
  current: string | null;
  lastKnownGood: string | null;
  updatedAt: string | null;
  /** The latest entries, oldest first. */
  entries: DeployEntry[];
}

export async function deployments(options: DeploymentsOptions): Promise<void> {
  const limit = options.limit === undefined ? 20 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new UsageError(
      `--limit must be a whole number of at least 1, not ${JSON.stringify(options.limit)}`,
    );
  }
  const { where, found } = await withControl(options, async (control) => {
    const views: DeploymentView[] = [];
    const services = options.service
      ? [options.service]
      : [
          ...new Set([
            ...(await PostgresProviderState.services(control.db.pool, options.env)),
            ...legacyServices(control.db.dataDir, options.env),
          ]),
        ].sort();
    for (const service of services) {
      const state = new PostgresProviderState(control.db.pool, service, options.env, {
        legacyFile: legacyFile(control.db.dataDir, service, options.env),
      });
      const read = await state.read();
      views.push({
        service,
        environment: options.env,
        current: read.current ?? null,
        lastKnownGood: read.lastKnownGood ?? null,
        updatedAt: read.updatedAt ?? null,
        entries: await state.entries(limit),
      });
    }
    return { where: control.db.where, found: views };
  });
  let views = found;
  if (options.service) views = views.filter((v) => v.updatedAt !== null || v.entries.length > 0);
  if (options.json) {
    json(views);
    return;
  }
  if (views.length === 0) {
    out(
      `nothing deployed to ${options.env}${options.service ? ` for ${options.service}` : ""} yet (in ${where})`,
    );
    return;
  }
  out(views.map(describe).join("\n\n"));
}

function describe(view: DeploymentView): string {
  const lines = [
    `${view.service} → ${view.environment}`,
    `  serving          ${view.current ?? "nothing recorded"}`,
    `  last known good  ${view.lastKnownGood ?? "none yet (no release has completed here)"}`,
  ];
  if (view.updatedAt) lines.push(`  updated          ${view.updatedAt}`);
  if (view.entries.length === 0) {
    lines.push("  no deploy or rollback recorded");
    return lines.join("\n");
  }
  lines.push("  deploys and rollbacks, newest last:");
  const width = Math.max(...view.entries.map((e) => e.version.length));
  for (const e of view.entries) {
    lines.push(
      `    ${e.startedAt}  ${e.action.padEnd(8)}  ${e.version.padEnd(width)}  ${e.result.padEnd(11)}  ${e.key}${e.message ? `  ${e.message}` : ""}`,
    );
  }
  return lines.join("\n");
}

/** Where the engine kept a service's provider state before 0.5 (and keeps its local files now). */
function legacyFile(dataDir: string, service: string, environment: string): string {
  return path.join(dataDir, "services", service, environment, "state.json");
}

/** Services with a 0.4 state.json for `environment` in the data folder. */
function legacyServices(dataDir: string, environment: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(dataDir, "services"));
  } catch {
    return [];
  }
  return names.filter((service) => fs.existsSync(legacyFile(dataDir, service, environment)));
}
