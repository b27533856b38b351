/**
 * Interpolation. Gantry has one syntax for values filled in at run time: Liquid's
 * `{{ release.version }}`, with filters (`{{ release.version | upcase }}`) and, in message
 * templates only, tags (`{% for s in smoke.failed %}…{% endfor %}`). See docs/runbook.md.
 *
 * This module knows which variables exist where, so a typo in a template is caught by
 * `gantry validate` instead of rendering as an empty string in the middle of an incident.
 */
import path from "node:path";
import type { Template } from "liquidjs";
import { rawProblems } from "./command-template.js";
import { engine, limitMessage, overOutput, renderError, TEMPLATE_LIMITS } from "./liquid.js";
import { closest } from "./suggest.js";

/** Where a string is used decides what it may refer to. */
export type TemplateScope = "command" | "probe" | "message";

/** Names declared by the runbook that templates may refer to. */
export interface TemplateNames {
  secrets: ReadonlySet<string>;
  captures: ReadonlySet<string>;
  roles: ReadonlySet<string>;
  signals: ReadonlySet<string>;
  checks: ReadonlySet<string>;
  vars: ReadonlySet<string>;
}

type Field = true | "any" | { [name: string]: Field };
interface Root {
  doc: string;
  scopes: readonly TemplateScope[];
  fields: Field | keyof TemplateNames;
  /** For dynamic roots: what each member exposes. */
  member?: Field;
}

const ALL: readonly TemplateScope[] = ["command", "probe", "message"];

/** Every variable a template can use. docs/runbook.md is written from this table. */
export const TEMPLATE_ROOTS: Record<string, Root> = {
  service: { doc: "the service name (metadata.service)", scopes: ALL, fields: true },
  runbook: { doc: "the runbook: name, file", scopes: ALL, fields: { name: true, file: true } },
  release: {
    doc: "the release: version, ref, sha, tag, rc, previousVersion, changelog",
    scopes: ALL,
    fields: {
      version: true,
      ref: true,
      sha: true,
      tag: true,
      rc: true,
      previousVersion: true,
      changelog: true,
    },
  },
  env: {
    doc: "the target environment: name, url, vars.<key>",
    scopes: ALL,
    fields: { name: true, url: true, vars: "any" },
  },
  run: {
    doc: "the run: id, url (GANTRY_PUBLIC_URL/runs/<id>, or the command that shows it), operator, startedAt, elapsed, phase, outcome",
    scopes: ALL,
    fields: {
      id: true,
      url: true,
      operator: true,
      startedAt: true,
      elapsed: true,
      phase: true,
      outcome: true,
    },
  },
  secrets: { doc: "a declared secret (never in messages)", scopes: ["command", "probe"], fields: "secrets" },
  captures: {
    doc: "a value captured by an earlier smoke test",
    scopes: ["probe", "command"],
    fields: "captures",
  },
  canary: {
    doc: "the canary step (deploy.shift): weight, the percent of traffic (0–100) on the new version",
    scopes: ["command"],
    fields: { weight: true },
  },
  migration: {
    doc: "the migration being applied: file, name",
    scopes: ["command"],
    fields: { file: true, name: true },
  },
  backup: {
    doc: "the backup this run took: file, id, at, bytes",
    scopes: ["command", "message"],
    fields: { file: true, id: true, at: true, bytes: true },
  },
  roles: {
    doc: "a role: members, names",
    scopes: ["message"],
    fields: "roles",
    member: { members: true, names: true },
  },
  signals: { doc: "a monitored signal: value, phase", scopes: ["message"], fields: "signals", member: "any" },
  checks: {
    doc: "a check's last result: value, phase, message",
    scopes: ["message"],
    fields: "checks",
    member: "any",
  },
  reason: {
    doc: "why this message is sent (rollback reason, failed gate …)",
    scopes: ["message"],
    fields: true,
  },
  rule: {
    doc: "the rule that fired: name, severity, when, value, threshold, for",
    scopes: ["message"],
    fields: { name: true, severity: true, when: true, value: true, threshold: true, for: true },
  },
  checkpoint: { doc: "the checkpoint reached: at, name, status", scopes: ["message"], fields: "any" },
  rollback: {
    doc: "the rollback: reason, startedAt, duration, target, withinTarget, detectionLatency (durations as text; durationMs, targetMs, detectionLatencyMs as numbers), version and to (what it rolled back to), from (what it rolled back from)",
    scopes: ["message"],
    fields: "any",
  },
  incident: { doc: "the incident: id, severity", scopes: ["message"], fields: { id: true, severity: true } },
  schedule: {
    doc: "the schedule item that is due (schedule.due): name, at, due, owner, tasks",
    scopes: ["message"],
    fields: { name: true, at: true, due: true, owner: true, tasks: true },
  },
  page: {
    doc: "the role paged (role.paged): role, members; for (the role it stands in for, off hours), why",
    scopes: ["message"],
    fields: { role: true, members: true, for: true, why: true },
  },
  smoke: {
    doc: "smoke results: passed and failed (lists of test names), total",
    scopes: ["message"],
    fields: "any",
  },
  deploy: { doc: "the deployment: url, id", scopes: ["message"], fields: { url: true, id: true } },
  steps: {
    doc: "every step so far, in order: id, kind, title, phase, status, message",
    scopes: ["message"],
    fields: "any",
  },
  routine: {
    doc: "the routine run an alert is about: name, description, env, cron, at (the occurrence), status (failed or recovered), failed (names of the checks that did not pass), results (name, type, phase, value, message of each check)",
    scopes: ["message"],
    fields: {
      name: true,
      description: true,
      env: true,
      cron: true,
      at: true,
      status: true,
      failed: true,
      results: "any",
    },
  },
  links: {
    doc: "links: run, and dashboard (from env.vars.dashboard_url) when there is one",
    scopes: ["message"],
    fields: { run: true, dashboard: true },
  },
};

export { TEMPLATE_LIMITS };

export interface TemplateProblem {
  message: string;
}

/** True when the string holds interpolation, i.e. it needs checking and rendering. */
export function isTemplate(text: string): boolean {
  return text.includes("{{") || text.includes("{%");
}

/**
 * Checks one template string: syntax, filters, and that every variable exists in `scope`.
 * Example: `checkTemplate("v{{ release.verison }}", "message", names)` →
 * `[{ message: "unknown variable `release.verison`: did you mean `release.version`?" }]`.
 */
export function checkTemplate(text: string, scope: TemplateScope, names: TemplateNames): TemplateProblem[] {
  if (scope !== "message" && text.includes("{%")) {
    return [{ message: "tags (`{% … %}`) are only allowed in notification templates; use `{{ … }}` here" }];
  }
  if (text.length > TEMPLATE_LIMITS.parseChars) {
    return [
      { message: `template is ${text.length} characters, over the limit of ${TEMPLATE_LIMITS.parseChars}` },
    ];
  }
  const variables = variablesOf(text);
  if (!Array.isArray(variables)) return [variables];
  const problems: TemplateProblem[] = [];
  if (scope === "command") problems.push(...rawProblems(text));
  const trial = trialRender(text);
  if (trial) problems.push(trial);
  for (const segments of variables) {
    const path = segments.map((s) => (typeof s === "object" ? "?" : String(s)));
    const problem = checkVariable(path, scope, names);
    if (problem) problems.push({ message: problem });
  }
  return problems;
}

const variableCache = new Map<string, Array<Array<string | number | object>> | TemplateProblem>();

/** The variables a template reads, or why it does not parse. Memoized: runbooks repeat templates. */
function variablesOf(text: string): Array<Array<string | number | object>> | TemplateProblem {
  const cached = variableCache.get(text);
  if (cached) return cached;
  const simple = simpleVariables(text);
  if (simple) {
    variableCache.set(text, simple);
    return simple;
  }
  let result: Array<Array<string | number | object>> | TemplateProblem;
  try {
    const parsed: Template[] = engine().parse(text);
    result = engine().globalVariableSegmentsSync(parsed) as Array<Array<string | number | object>>;
  } catch (error) {
    result = { message: `template does not parse: ${liquidMessage(error)}` };
  }
  variableCache.set(text, result);
  return result;
}

/**
 * Most templates are plain `{{ a.b.c }}` outputs; for those the variables can be read without
 * Liquid's parser, which dominates validation time. Anything else (filters, tags, brackets,
 * unbalanced braces) returns undefined and goes through Liquid.
 */
/** A plain output, `{{ a.b.c }}`: no filters, no brackets. Group 1 is the dotted path. */
const PLAIN_OUTPUT = "\\{\\{-?\\s*([A-Za-z_][\\w-]*(?:\\.[A-Za-z_][\\w-]*)*)\\s*-?\\}\\}";

const WHOLE_PLAIN_OUTPUT = new RegExp(`^${PLAIN_OUTPUT}$`);

function simpleVariables(text: string): string[][] | undefined {
  if (text.includes("{%")) return undefined;
  const outputs = text.match(/\{\{[\s\S]*?\}\}/g) ?? [];
  const rest = text.replace(/\{\{[\s\S]*?\}\}/g, "");
  if (rest.includes("{{") || rest.includes("}}")) return undefined;
  const variables: string[][] = [];
  for (const output of outputs) {
    const m = WHOLE_PLAIN_OUTPUT.exec(output);
    if (!m) return undefined;
    variables.push(m[1]!.split("."));
  }
  return variables;
}

function checkVariable(path: string[], scope: TemplateScope, names: TemplateNames): string | undefined {
  const [head = "", ...rest] = path;
  const shown = path.join(".");
  const root = TEMPLATE_ROOTS[head];
  if (!root) {
    const guess = closest(head, Object.keys(TEMPLATE_ROOTS));
    return `unknown variable \`${shown}\`${guess ? `: did you mean \`${[guess, ...rest].join(".")}\`?` : `; variables start with one of ${Object.keys(TEMPLATE_ROOTS).join(", ")}`}`;
  }
  if (!root.scopes.includes(scope)) {
    if (head === "secrets")
      return `\`${shown}\`: secrets cannot be used in notification templates; they would leave Gantry in a message`;
    if (head === "captures" && scope === "message")
      return `\`${shown}\`: captured values are secrets and cannot be used in notification templates; they would leave Gantry in a message`;
    return `\`${shown}\` is not available in ${scopeName(scope)}; it is available in ${root.scopes.map(scopeName).join(", ")}`;
  }
  if (typeof root.fields === "string" && root.fields !== "any") {
    const declared = names[root.fields];
    const [member, ...deeper] = rest;
    if (member === undefined)
      return `\`${shown}\` needs a name, e.g. \`${head}.${[...declared][0] ?? "name"}\``;
    if (member !== "?" && !declared.has(member)) {
      const guess = closest(member, [...declared]);
      return `unknown ${head} name \`${member}\` in \`${shown}\`${guess ? `: did you mean \`${head}.${guess}\`?` : declared.size ? `; declared: ${[...declared].join(", ")}` : `; none are declared`}`;
    }
    return root.member ? checkFields(deeper, root.member, `${head}.${member}`) : undefined;
  }
  if (
    head === "env" &&
    rest[0] === "vars" &&
    rest[1] !== undefined &&
    rest[1] !== "?" &&
    !names.vars.has(rest[1])
  ) {
    const guess = closest(rest[1], [...names.vars]);
    return `unknown variable \`${shown}\`: no environment declares vars.${rest[1]}${guess ? `; did you mean \`env.vars.${guess}\`?` : ""}`;
  }
  return checkFields(rest, root.fields, head);
}

function checkFields(path: string[], field: Field, prefix: string): string | undefined {
  let current: Field = field;
  let at = prefix;
  for (const part of path) {
    if (current === true) return `\`${at}\` is a value and has no field \`${part}\``;
    if (current === "any" || part === "?") return undefined;
    const next: Field | undefined = current[part];
    if (next === undefined) {
      const guess = closest(part, Object.keys(current));
      return `unknown variable \`${at}.${part}\`${guess ? `: did you mean \`${at}.${guess}\`?` : `; \`${at}\` has ${Object.keys(current).join(", ")}`}`;
    }
    current = next;
    at = `${at}.${part}`;
  }
  return undefined;
}

function scopeName(scope: TemplateScope): string {
  return { command: "commands", probe: "checks and smoke tests", message: "notification templates" }[scope];
}

function liquidMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/, line:\d+, col:\d+$/, "");
}

/**
 * A template whose cost does not depend on the run's values (`(1..300000000) | join`) is
 * rendered once, empty-handed, at validation: what is over a limit then is over it at run time.
 * Only limit errors are reported here; the rest depends on values not known yet.
 */
function trialRender(text: string): TemplateProblem | undefined {
  if (simpleVariables(text)) return undefined;
  try {
    const out = engine().parseAndRenderSync(text, {});
    if (out.length > TEMPLATE_LIMITS.outputChars) return { message: overOutput(out.length) };
  } catch (e) {
    const message = (e as Error).message ?? "";
    if (/limit exceeded/.test(message))
      return { message: `template is over its limits: ${limitMessage(message)}` };
  }
  return undefined;
}

export interface RenderOptions {
  /** The runbook's folder: where `{% include %}` reads from (message templates). */
  root?: string;
}

/** Renders a template with a context, within TEMPLATE_LIMITS. Used by steps at run time. */
export function renderTemplate(
  text: string,
  context: Record<string, unknown>,
  options: RenderOptions = {},
): string {
  let out: string;
  try {
    out = engine(options.root && path.resolve(options.root)).parseAndRenderSync(text, context);
  } catch (e) {
    throw renderError(e);
  }
  if (out.length > TEMPLATE_LIMITS.outputChars) throw new Error(overOutput(out.length));
  return out;
}

/**
 * Fills in the plain `{{ a.b }}` outputs whose values are already known (at plan time: the
 * version, the environment) and leaves every other template as written, so a plan shows the
 * commands it will run as far as they can be known before running anything.
 */
export function fillKnown(text: string, known: Record<string, unknown>): string {
  if (!text.includes("{{")) return text;
  return text.replace(new RegExp(PLAIN_OUTPUT, "g"), (whole, path: string) => {
    let value: unknown = known;
    for (const part of path.split(".")) {
      value = value && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined;
    }
    return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
      ? String(value)
      : whole;
  });
}
