/**
 * An environment as checks see it: the values templates are filled with, its secrets (in
 * memory only, with their redactor), and the probe context (database, Redis, metric sources)
 * with templates filled in. Shared by `gantry check` and the engine's pre-flight steps.
 */
import path from "node:path";
import type { ProbeEnvironment } from "../probes/types.js";
import { renderCommand } from "../runbook/command-template.js";
import type { Probe } from "../runbook/schema/probes.js";
import type { EnvironmentSpec, Runbook } from "../runbook/schema/runbook.js";
import { parseSecretRef } from "../runbook/secret.js";
import { renderTemplate } from "../runbook/template.js";
import { readSecretRef, resolveSecrets, type Secrets, secretsUsed } from "../secrets/secrets.js";

export interface EnvironmentScope {
  name: string;
  spec: EnvironmentSpec;
  secrets: Secrets;
  /** The runbook's folder. */
  dir: string;
  /** Fills in a template; throws an Error saying where and why it cannot. */
  render(template: string, where: string): string;
  /** Fills in a shell command: every value reaches it as data (see renderCommand). */
  renderShell(template: string, where: string): string;
  /** A connection field: a secret reference (env:NAME, file:PATH) read, or a template filled in. */
  field(text: string, where: string): string;
  /** render() applied to every string of a value (a probe spec, an inventory). */
  renderDeep<T>(value: T, where: string): T;
  /**
   * The connections a probe needs (its database, Redis or metric source), templates filled
   * in; throws an Error saying why when one cannot be filled in (a secret not set).
   */
  probeEnvironment(probe: Probe): ProbeEnvironment;
}

/** The values every template of an environment sees; the engine adds release, run and captures. */
export function baseValues(
  runbook: Runbook,
  envName: string,
  file: string,
  secrets: Secrets,
): Record<string, unknown> {
  const env = runbook.environments[envName]!;
  return {
    service: runbook.metadata.service,
    runbook: { name: runbook.metadata.name, file },
    env: { name: envName, url: env.url, vars: env.vars },
    secrets: secrets.values,
  };
}

export function environmentScope(
  runbook: Runbook,
  envName: string,
  file: string,
  values: (secrets: Secrets) => Record<string, unknown> = (secrets) =>
    baseValues(runbook, envName, file, secrets),
): EnvironmentScope {
  const spec = runbook.environments[envName];
  if (!spec) throw new Error(`no environment ${envName}`);
  const dir = path.dirname(path.resolve(file));
  const secrets = resolveSecrets(runbook, envName, dir);
  const fill = (template: string, where: string, shell: boolean): string => {
    if (!template.includes("{{") && !template.includes("{%")) return template;
    const missing = secretsUsed(template).filter((n) => secrets.missing[n] !== undefined);
    if (missing.length > 0) {
      throw new Error(
        `${where}: ${missing.map((n) => `secret ${n} (${secrets.missing[n]}) is not set`).join("; ")}`,
      );
    }
    try {
      return shell
        ? renderCommand(template, values(secrets))
        : renderTemplate(template, values(secrets), { root: dir });
    } catch (e) {
      throw new Error(
        `${where}: cannot fill in ${secrets.redact(JSON.stringify(template))}: ${(e as Error).message}`,
      );
    }
  };
  const render = (template: string, where: string) => fill(template, where, false);
  const renderShell = (template: string, where: string) => fill(template, where, true);
  const renderDeep = <T>(value: T, where: string): T => {
    // A `url:` may be a secret reference (a probe's own database URL), and so may a metric
    // source's `token:` (sentry, posthog: "May be a secret reference"): read, not rendered.
    const walk = (v: unknown, key?: string): unknown => {
      if (typeof v === "string") return key === "url" || key === "token" ? field(v, where) : render(v, where);
      if (Array.isArray(v)) return v.map((x) => walk(x));
      if (v && typeof v === "object" && !isDuration(v)) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
      }
      return v;
    };
    return walk(value) as T;
  };
  function field(text: string, where: string): string {
    if (!parseSecretRef(text)) return render(text, where);
    const value = readSecretRef(text, dir);
    if (value === undefined) {
      const ref = parseSecretRef(text)!;
      throw new Error(
        ref.source === "env"
          ? `${where}: ${text} is not set; export ${ref.name} before running gantry`
          : `${where}: ${text} cannot be read, or is empty`,
      );
    }
    return value;
  }
  return {
    name: envName,
    spec,
    secrets,
    dir,
    render,
    renderShell,
    field,
    renderDeep,
    probeEnvironment: (probe) => {
      const env: ProbeEnvironment = { name: envName, metrics: {} };
      if (spec.database && probe.type === "postgres" && !probe.url) {
        env.database = {
          url: field(spec.database.url, `environments.${envName}.database.url`),
          schemaVersion: spec.database.schemaVersion,
        };
      }
      if (spec.redis && probe.type === "redis" && !probe.url)
        env.redis = { url: field(spec.redis.url, `environments.${envName}.redis.url`) };
      for (const [name, source] of Object.entries(spec.metrics)) {
        const used = "source" in probe && probe.source === name;
        // Unused sources are passed unrendered, their secrets untouched, so a probe can name them.
        env.metrics![name] = used ? renderDeep(source, `environments.${envName}.metrics.${name}`) : source;
      }
      return env;
    },
  };
}

/** Parsed durations ({text, ms}) and comparisons are left as they are. */
function isDuration(v: object): boolean {
  return "ms" in v && "text" in v;
}

/**
 * Fills in a probe spec's templates, except an http probe's own captures in `poll.url` and
 * `download.url`: those are known only after its request, and the probe fills them in itself.
 */
export function renderProbe(
  spec: Probe,
  renderDeep: <T>(value: T) => T,
  renderShell: (command: string) => string,
): Probe {
  // A command probe's `run` is a shell command: its values are written as data.
  if (spec.type === "command") return { ...renderDeep({ ...spec, run: "" }), run: renderShell(spec.run) };
  if (spec.type !== "http" || (!spec.poll?.url && !spec.download)) return renderDeep(spec);
  const own = new Set(Object.keys(spec.capture));
  const hide = (url: string) =>
    url.replace(/\{\{\s*captures\.([A-Za-z0-9._-]+)\s*\}\}/g, (whole, name: string) =>
      own.has(name) ? `@@gantry-capture:${name}@@` : whole,
    );
  const show = (url: string) => url.replace(/@@gantry-capture:([A-Za-z0-9._-]+)@@/g, "{{ captures.$1 }}");
  const hidden = {
    ...spec,
    ...(spec.poll?.url ? { poll: { ...spec.poll, url: hide(spec.poll.url) } } : {}),
    ...(spec.download ? { download: { ...spec.download, url: hide(spec.download.url) } } : {}),
  };
  const rendered = renderDeep(hidden);
  return {
    ...rendered,
    ...(rendered.poll?.url ? { poll: { ...rendered.poll, url: show(rendered.poll.url) } } : {}),
    ...(rendered.download ? { download: { ...rendered.download, url: show(rendered.download.url) } } : {}),
  };
}
