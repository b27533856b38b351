/**
 * What step modules act through (the StepContext): the run's identity and facts, its
 * environment with secrets filled in, templates, commands, probes and the provider. Every
 * value captured from a response is masked like a secret in whatever this context returns.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import type pg from "pg";
import { baseValues, type EnvironmentScope, environmentScope, renderProbe } from "../checks/scope.js";
import { type CommandResult, runCommand } from "../exec/command.js";
import type { MigrationTarget } from "../migrations/run.js";
import { measure } from "../probes/index.js";
import { atOrigin } from "../probes/origin.js";
import type { Measurement, ProbeEnvironment } from "../probes/types.js";
import { createProvider } from "../providers/index.js";
import type { Provider } from "../providers/types.js";
import { renderCommand } from "../runbook/command-template.js";
import { parseRunbookText } from "../runbook/load.js";
import type { Measured, ReleasePlan } from "../runbook/plan/types.js";
import type { Probe } from "../runbook/schema/probes.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import { parseSecretRef } from "../runbook/secret.js";
import { renderTemplate } from "../runbook/template.js";
import { masker } from "../secrets/mask.js";
import { resolveSecrets, type Secrets, secretsUsed } from "../secrets/secrets.js";
import type { Durable, RunFacts, StepContext, StepResult } from "../steps/contract.js";
import type { EventStore } from "../store/events.js";
import { PostgresProviderState } from "../store/provider-state.js";
import { emptyFacts } from "./facts.js";
import { canaryValues, releaseValues } from "./provider-values.js";
import { type RunInput, TemplateFailed } from "./types.js";

export interface ContextEnvironment {
  store: EventStore;
  dataDir: string;
  /** The event log's (fenced) pool: deploy provider state is written through it too. */
  pool: pg.Pool;
}

export class RunContext implements StepContext {
  readonly runbook: Runbook;
  readonly plan: ReleasePlan;
  readonly cwd: string;
  readonly facts: RunFacts = emptyFacts();
  readonly scope: EnvironmentScope;
  readonly store: EventStore;
  durable!: Durable;
  private readonly secrets: Secrets;
  private providerState: PostgresProviderState | undefined;
  private captureMask: { keys: string; mask: (t: string) => string } = { keys: "", mask: (t) => t };

  constructor(
    readonly input: RunInput,
    private readonly environment: ContextEnvironment,
  ) {
    this.store = environment.store;
    this.plan = input.plan;
    // The runbook gives the environment (connections, secrets, values); the steps come from the plan.
    const runbook = parseRunbookText(input.source, input.env);
    if (!runbook) throw new Error(`runbook ${input.file} no longer validates`);
    this.runbook = runbook;
    this.cwd = path.dirname(path.resolve(input.file));
    this.secrets = resolveSecrets(this.runbook, input.env, this.cwd);
    this.scope = environmentScope(this.runbook, input.env, input.file, () => this.templateValues());
  }

  get runId(): string {
    return this.input.runId;
  }
  get service(): string {
    return this.plan.runbook.service;
  }
  get env(): string {
    return this.input.env;
  }
  get ref(): string {
    return this.input.ref;
  }
  get file(): string {
    return this.input.file;
  }
  get noCache(): boolean {
    return this.input.noCache;
  }
  get version(): string {
    return this.plan.ref?.version ?? this.input.ref;
  }

  scopeOf(env: string): EnvironmentScope {
    return environmentScope(this.runbook, env, this.input.file);
  }

  /** Secrets and captured values removed. */
  redact = (text: string): string => this.masking()(this.secrets.redact(text));

  private masking(): (t: string) => string {
    const values = Object.values(this.facts.captures).filter((v): v is string => typeof v === "string");
    const keys = values.join("\u0000");
    if (keys !== this.captureMask.keys) this.captureMask = { keys, mask: masker(values) };
    return this.captureMask.mask;
  }

  render(template: string, where: string, extra: Record<string, unknown> = {}): string {
    return this.fill(template, where, false, () => this.templateValues({}, extra));
  }

  /** Fills a message template with the values given (notifications build their own). */
  renderWith(template: string, where: string, values: Record<string, unknown>): string {
    return this.fill(template, where, false, () => values);
  }

  fillCommand(template: string, where: string, values: Record<string, unknown> = {}): string {
    return this.fill(template, where, true, () => this.templateValues({}, values));
  }

  async command(
    step: string,
    template: string,
    timeoutMs: number,
    options: { env?: Record<string, string>; values?: Record<string, unknown> } = {},
  ): Promise<CommandResult> {
    const missing = secretsUsed(template).filter((n) => this.secrets.missing[n] !== undefined);
    if (missing.length > 0) {
      return {
        timedOut: false,
        aborted: false,
        output: [],
        stdout: "",
        durationMs: 0,
        problem: missing.map((n) => `secret ${n} (${this.secrets.missing[n]}) is not set`).join("; "),
      };
    }
    return runCommand(this.fillCommand(template, step, options.values), {
      cwd: this.cwd,
      env: options.env ?? {},
      timeoutMs,
      // An attempt left running by a gantry that died is ended before this one starts.
      track: { dir: path.join(this.environment.dataDir, "attempts"), key: `${this.runId}:${step}` },
      onLine: (line) => this.output(step, line),
    });
  }

  async measure(step: string, m: Measured, options: { origin?: string } = {}): Promise<StepResult> {
    const baseline = m.baseline !== undefined ? this.facts.baselines[m.baseline] : undefined;
    const r = await this.measureProbe(m.probe, step, { baseline, ...options });
    return {
      ok: r.phase === "successful",
      message: this.redact(r.message),
      // Captured values (a login's token) are facts, sealed where recorded; the log names them only.
      data: {
        phase: r.phase,
        value: r.value ?? null,
        ...(r.captures ? { captured: Object.keys(r.captures) } : {}),
      },
      ...(r.captures ? { facts: { captures: r.captures } } : {}),
    };
  }

  /** Measures a probe with the run's template values, its environment's connections and secrets masked. */
  async measureProbe(
    spec: Probe,
    where: string,
    at: { previous?: unknown; baseline?: unknown; origin?: string } = {},
  ): Promise<Measurement> {
    const { previous, baseline, origin } = at;
    let rendered: Probe;
    let env: ProbeEnvironment;
    try {
      rendered = renderProbe(
        spec,
        (v) => this.renderDeep(v, where) as typeof v,
        (c) => this.fillCommand(c, `${where}.run`),
      );
      // A probe's own connection URL may be a secret reference (url: env:REPORTING_DATABASE_URL).
      if ("url" in rendered && typeof rendered.url === "string" && parseSecretRef(rendered.url))
        rendered = { ...rendered, url: this.scope.field(rendered.url, `${where}.url`) } as Probe;
      if (origin) rendered = atOrigin(rendered, this.scope.spec.url, origin);
      env = this.scope.probeEnvironment(rendered);
    } catch (e) {
      const now = new Date().toISOString();
      return { phase: "error", message: this.redact((e as Error).message), startedAt: now, finishedAt: now };
    }
    const deployedAt = this.facts.deployedAt;
    return measure(rendered, {
      previous,
      env,
      redact: this.redact,
      dir: this.cwd,
      ...(baseline !== undefined ? { baseline: baseline as never } : {}),
      ...(deployedAt ? { since: new Date(deployedAt).toISOString() } : {}),
    });
  }

  provider(step: string): Provider {
    const deploy = this.plan.deploy;
    if (!deploy) throw new Error("the runbook has no deploy section");
    // The provider's memory is in Postgres; the folder keeps local-process's own bookkeeping.
    const localDir = path.join(this.environment.dataDir, "services", this.service, this.env);
    this.providerState ??= new PostgresProviderState(this.environment.pool, this.service, this.env, {
      legacyFile: path.join(localDir, "state.json"),
    });
    const provider = createProvider(deploy, {
      state: this.providerState,
      localDir,
      cwd: this.cwd,
      render: (template, values) =>
        this.fill(template, "deploy", true, () =>
          this.templateValues(releaseValues(values), canaryValues(values.weight)),
        ),
      text: (template, values) =>
        this.fill(template, "deploy", false, () => this.templateValues(releaseValues(values))),
      field: (value, where) => this.scope.field(value, where),
      redact: this.redact,
      onLine: (line) => this.output(step, line),
    });
    if (!provider) throw new Error(`deploy provider ${deploy.provider} is not executable`);
    return provider;
  }

  output(step: string, line: string): void {
    // Ordered with the step's other events by the store; a line lost to a stop is not a failure.
    void this.store
      .append(this.runId, {
        key: `${step}:out:${randomUUID()}`,
        kind: "output",
        step,
        data: { line: this.redact(line) },
      })
      .catch(() => undefined);
  }

  migrationTarget(migrations: MigrationTarget["migrations"]): MigrationTarget {
    const db = this.scope.spec.database;
    if (!db) throw new Error(`environment ${this.env} has no database.url; migrations apply there`);
    const versionQuery = migrations.schemaVersion?.query ?? db.schemaVersion;
    return {
      migrations,
      dir: this.cwd,
      url: this.scope.field(db.url, `environments.${this.env}.database.url`),
      ...(versionQuery ? { versionQuery } : {}),
    };
  }

  deployedNote(): string {
    if (this.facts.deployed) return `; ${this.version} stays deployed (roll back with gantry rollback)`;
    return this.facts.expandApplied.length
      ? `; nothing was deployed (the expand migrations applied stay: ${this.facts.expandApplied.join(", ")}; they are backward-compatible)`
      : "; nothing was deployed";
  }

  /** The values templates see at run time. */
  templateValues(
    release: Record<string, unknown> = {},
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const ref = this.plan.ref;
    return {
      ...baseValues(this.runbook, this.env, this.file, this.secrets),
      release: {
        version: this.version,
        ref: this.ref,
        rc: ref?.rc ?? false,
        ...(ref?.kind === "tag" ? { tag: ref.ref } : {}),
        ...(this.facts.sha ? { sha: this.facts.sha } : {}),
        previousVersion: this.facts.previousVersion,
        ...release,
      },
      run: { id: this.runId, operator: this.input.operator },
      captures: this.facts.captures,
      backup: this.facts.backup ?? {},
      ...extra,
    };
  }

  private fill(
    template: string,
    where: string,
    shell: boolean,
    valuesOf: () => Record<string, unknown>,
  ): string {
    if (!template.includes("{{") && !template.includes("{%")) return template;
    const values = valuesOf();
    try {
      return shell ? renderCommand(template, values) : renderTemplate(template, values, { root: this.cwd });
    } catch (e) {
      throw new TemplateFailed(
        `${where}: cannot fill in ${JSON.stringify(template)}: ${(e as Error).message}`,
      );
    }
  }

  private renderDeep(value: unknown, where: string): unknown {
    if (typeof value === "string") return this.render(value, where);
    if (Array.isArray(value)) return value.map((v) => this.renderDeep(v, where));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.renderDeep(v, where)]));
    }
    return value;
  }
}
