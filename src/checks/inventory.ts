/**
 * An environment's inventory: what it runs, read from a JSON endpoint or a command's JSON
 * output (environments.<env>.inventory). Dependency versions and the runtime version are
 * read as they are; configuration keys and the config structure are read as names only, so a
 * value never reaches a message, an event or a report.
 */
import { createHash } from "node:crypto";
import { JSONPath } from "jsonpath-plus";
import { runCommand } from "../exec/command.js";
import { errorText, send, show } from "../probes/shared.js";
import type { EnvironmentScope } from "./scope.js";

export interface Inventory {
  dependencies?: Record<string, string>;
  runtime?: string;
  keys?: string[];
  /** Key paths with their types (`db.pool.max:number`), sorted. */
  config?: string[];
}

export type InventoryRead = { ok: true; inventory: Inventory } | { ok: false; problem: string };

/** Reads the inventory of `scope`'s environment. Never throws. */
export async function readInventory(scope: EnvironmentScope, signal?: AbortSignal): Promise<InventoryRead> {
  const where = `environments.${scope.name}.inventory`;
  const spec = scope.spec.inventory;
  if (!spec) return { ok: false, problem: `${scope.name} has no inventory: declare ${where} (url or run)` };
  let json: unknown;
  try {
    if (spec.url) {
      const url = scope.render(spec.url, `${where}.url`);
      const headers = scope.renderDeep(spec.headers, `${where}.headers`);
      const sent = await send({ method: "GET", url, headers, timeout: spec.timeout }, signal);
      if (!sent.ok) return { ok: false, problem: `${scope.name} inventory ${url}: ${sent.message}` };
      if (sent.response.status !== 200) {
        return { ok: false, problem: `${scope.name} inventory ${url}: status ${sent.response.status}` };
      }
      json = JSON.parse(Buffer.from(sent.response.body).toString("utf8"));
    } else if (spec.run) {
      const command = scope.renderShell(spec.run, `${where}.run`);
      const result = await runCommand(command, {
        cwd: scope.dir,
        timeoutMs: spec.timeout.ms,
        ...(signal ? { signal } : {}),
      });
      if (result.timedOut)
        return { ok: false, problem: `${scope.name} inventory command timed out after ${spec.timeout.text}` };
      if (result.problem || result.exitCode !== 0) {
        return {
          ok: false,
          problem: `${scope.name} inventory command: ${result.problem ?? `exit ${result.exitCode ?? "?"}`}`,
        };
      }
      json = JSON.parse(result.stdout);
    } else {
      return { ok: false, problem: `${where}: give url or run` };
    }
  } catch (err) {
    return { ok: false, problem: `${scope.name} inventory: ${errorText(err)}` };
  }
  const inventory: Inventory = {};
  const pick = (path: string | undefined) => (path ? first(path, json) : undefined);
  if (spec.dependencies) {
    const deps = pick(spec.dependencies);
    if (!isObject(deps))
      return {
        ok: false,
        problem: `${scope.name} inventory ${spec.dependencies} is not an object of versions`,
      };
    inventory.dependencies = Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, String(v)]));
  }
  if (spec.runtime) {
    const runtime = pick(spec.runtime);
    if (typeof runtime !== "string" && typeof runtime !== "number") {
      return {
        ok: false,
        problem: `${scope.name} inventory ${spec.runtime} is ${show(runtime)}, not a version`,
      };
    }
    inventory.runtime = String(runtime);
  }
  if (spec.keys) {
    const keys = pick(spec.keys);
    if (Array.isArray(keys) && keys.every((k) => typeof k === "string")) inventory.keys = [...keys].sort();
    else if (isObject(keys)) inventory.keys = Object.keys(keys).sort();
    else
      return {
        ok: false,
        problem: `${scope.name} inventory ${spec.keys} is neither a list of names nor an object`,
      };
  }
  if (spec.config) {
    const config = pick(spec.config);
    if (!isObject(config))
      return { ok: false, problem: `${scope.name} inventory ${spec.config} is not an object` };
    inventory.config = structure(config);
  }
  return { ok: true, inventory };
}

/** Key paths and types of a JSON value, never its values: `db.pool.max:number`. */
export function structure(value: unknown, prefix = ""): string[] {
  const paths: string[] = [];
  const walk = (v: unknown, at: string) => {
    if (Array.isArray(v)) {
      paths.push(`${at}:array`);
      const kinds = new Set<string>();
      for (const item of v) for (const p of structure(item, `${at}[]`)) kinds.add(p);
      paths.push(...kinds);
    } else if (isObject(v)) {
      if (at) paths.push(`${at}:object`);
      for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
    } else {
      paths.push(`${at}:${v === null ? "null" : typeof v}`);
    }
  };
  walk(value, prefix);
  return [...new Set(paths)].sort();
}

export function structureHash(paths: string[]): string {
  return createHash("sha256").update(paths.join("\n")).digest("hex");
}

function first(path: string, json: unknown): unknown {
  const found = JSONPath({ path, json: json as object, wrap: true }) as unknown[];
  return found[0];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
