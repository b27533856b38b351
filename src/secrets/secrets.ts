/**
 * Secrets at run time: resolved from their references (env:NAME, file:PATH) only when a
 * step runs, kept in memory, and removed from every line Gantry keeps or shows.
 */
import fs from "node:fs";
import path from "node:path";
import type { Runbook } from "../runbook/schema/runbook.js";
import { parseSecretRef } from "../runbook/secret.js";
import { masker } from "./mask.js";

export interface Secrets {
  values: Record<string, string>;
  /** Declared secrets whose reference gave no value, with the reference. */
  missing: Record<string, string>;
  redact: (text: string) => string;
}

export function resolveSecrets(runbook: Runbook, env: string, cwd: string): Secrets {
  const refs = { ...runbook.secrets, ...(runbook.environments[env]?.secrets ?? {}) };
  const values: Record<string, string> = {};
  const missing: Record<string, string> = {};
  for (const [name, text] of Object.entries(refs)) {
    const value = readSecretRef(text, cwd);
    if (value) values[name] = value;
    else missing[name] = text;
  }
  // Connection URLs given as references (database.url: env:DATABASE_URL) are secrets too, and
  // so is every credential of a notification channel, a reference or written as it is.
  const spec = runbook.environments[env];
  const inline = [spec?.database?.url, spec?.redis?.url].map((t) => (t ? readSecretRef(t, cwd) : undefined));
  // So are a metric source's token and header values given as references (token: env:NAME).
  for (const source of Object.values(spec?.metrics ?? {})) {
    const fields = source as { token?: string; headers?: Record<string, string> };
    for (const t of [fields.token, ...Object.values(fields.headers ?? {})])
      if (t) inline.push(readSecretRef(t, cwd));
  }
  for (const field of channelCredentials(runbook)) inline.push(readSecretRef(field, cwd) ?? field);
  return {
    values,
    missing,
    redact: redactor([...Object.values(values), ...inline.filter((v): v is string => v !== undefined)]),
  };
}

/** The fields of the runbook's notification channels that hold credentials (webhook URLs, tokens, SMTP URLs, signing secrets). */
export function channelCredentials(runbook: Runbook): string[] {
  const out: string[] = [];
  for (const c of Object.values(runbook.notify?.channels ?? {})) {
    const fields =
      c.type === "slack" ? [c.webhook, c.token] : c.type === "email" ? [c.smtp] : [c.url, c.secret];
    for (const f of fields) if (f) out.push(f);
  }
  return out;
}

/** The value of a secret reference (env:NAME, file:PATH); undefined when it is not set or not a reference. */
export function readSecretRef(text: string, cwd: string): string | undefined {
  const ref = parseSecretRef(text);
  if (ref?.source === "env") return process.env[ref.name] || undefined;
  if (ref?.source === "file") {
    try {
      return fs.readFileSync(path.resolve(cwd, ref.path), "utf8").trim() || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Masks the given values with "•••" wherever they occur, as written and in the forms they
 * take on the way out (encoded, escaped, a URL's password, pieces of a token): see mask.ts.
 * Values shorter than 4 characters are left alone.
 */
export function redactor(secretValues: string[]): (text: string) => string {
  return masker(secretValues);
}

/** The names of secrets a template refers to: `{{ secrets.stripe_key }}` → stripe_key. */
export function secretsUsed(template: string): string[] {
  return [...template.matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_-]*)/g)].map((m) => m[1]!);
}
