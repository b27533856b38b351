/** Every `{{ … }}` must parse and refer to something that exists where it is used. */
import type { Path } from "../diagnostics.js";
import { checkTemplate, isTemplate, type TemplateNames, type TemplateScope } from "../template.js";
import type { RuleContext, RunbookRule } from "./context.js";

export const templatesValid: RunbookRule = (ctx) => {
  const rb = ctx.runbook;
  const secrets = new Set(Object.keys(rb.secrets));
  const vars = new Set<string>();
  for (const env of Object.values(rb.environments)) {
    for (const k of Object.keys(env.secrets)) secrets.add(k);
    for (const k of Object.keys(env.vars)) vars.add(k);
  }
  const allCaptures = new Set<string>();
  for (const probe of [...Object.values(rb.checks), ...rb.smoke]) {
    if ("capture" in probe) for (const k of Object.keys(probe.capture)) allCaptures.add(k);
  }
  const base: TemplateNames = {
    secrets: new Names(secrets),
    vars: new Names(vars),
    captures: new Names(allCaptures),
    roles: new Names(new Set(Object.keys(rb.roles))),
    signals: new Names(new Set(Object.keys(rb.monitor?.signals ?? {}))),
    checks: new Names(new Set(Object.keys(rb.checks))),
  };
  const smokeCaptures = new SmokeCaptures(ctx);
  // Runbooks repeat templates; a template's problems depend only on it, its scope and the captures it sees.
  const memo = new Map<string, ReturnType<typeof checkTemplate>>();
  visitStrings(ctx.raw, [], (text, path) => {
    if (!isTemplate(text)) return;
    const scope = scopeOf(path);
    const seen = capturesBefore(path, base.captures, smokeCaptures);
    const key = `${scope}\0${seen.key}\0${text}`;
    let problems = memo.get(key);
    if (!problems) {
      // Past the bound, a template seen before is still counted; a new one is not checked.
      if (ctx.full) {
        ctx.stopped();
        return;
      }
      problems = checkTemplate(text, scope, { ...base, captures: seen.names });
      memo.set(key, problems);
    }
    for (const problem of problems) ctx.error(path, problem.message);
  });
};

/** Smoke tests see what earlier smoke tests captured (and their own, in poll/download); checks may use any. */
function capturesBefore(
  path: Path,
  all: ReadonlySet<string>,
  smoke: SmokeCaptures,
): { key: string; names: ReadonlySet<string> } {
  if (path[0] === "checks") return { key: "all", names: all };
  if (path[0] !== "smoke" || typeof path[1] !== "number") return { key: "none", names: NO_NAMES };
  return smoke.before(path[1], path[2] === "poll" || path[2] === "download");
}

/**
 * A set of declared names as templates see it: membership and size exact, but iteration (for
 * "did you mean" and "declared: …") stops after `LISTED` names, so a runbook declaring tens of
 * thousands of names costs no more per message than one declaring a hundred.
 */
class Names implements ReadonlySet<string> {
  constructor(
    private readonly set: ReadonlySet<string>,
    private readonly order: () => Iterable<string> = () => set,
  ) {}
  get size(): number {
    return this.set.size;
  }
  has(name: string): boolean {
    return this.set.has(name);
  }
  *[Symbol.iterator](): IterableIterator<string> {
    let n = 0;
    for (const name of this.order()) {
      if (n++ === LISTED) return;
      yield name;
    }
  }
  keys(): SetIterator<string> {
    return this[Symbol.iterator]() as SetIterator<string>;
  }
  values(): SetIterator<string> {
    return this[Symbol.iterator]() as SetIterator<string>;
  }
  *entries(): SetIterator<[string, string]> {
    for (const name of this) yield [name, name];
  }
  forEach(fn: (value: string, key: string, set: ReadonlySet<string>) => void): void {
    for (const name of this) fn(name, name, this);
  }
}

const LISTED = 100;
const NO_NAMES: ReadonlySet<string> = new Set();

/** For each smoke test, the captures of the ones before it, without a set per test (lists can be long). */
class SmokeCaptures {
  /** Each captured name with the index of the first smoke test that captures it, in that order. */
  private readonly first: Array<[string, number]> = [];
  private readonly index = new Map<string, number>();
  private readonly own: string[][];

  constructor(ctx: RuleContext) {
    const smoke = ctx.runbook.smoke;
    this.own = smoke.map((item) => ("capture" in item ? Object.keys(item.capture) : []));
    smoke.forEach((item, i) => {
      const names = [...this.own[i]!];
      if ("check" in item) {
        const check = ctx.runbook.checks[item.check];
        if (check && "capture" in check) for (const name of Object.keys(check.capture)) names.push(name);
      }
      for (const name of names) {
        if (this.index.has(name)) continue;
        this.index.set(name, i);
        this.first.push([name, i]);
      }
    });
  }

  before(i: number, withOwn: boolean): { key: string; names: ReadonlySet<string> } {
    // The names captured before test i are a prefix of `first`.
    let count = 0;
    let high = this.first.length;
    while (count < high) {
      const mid = (count + high) >> 1;
      if (this.first[mid]![1] < i) count = mid + 1;
      else high = mid;
    }
    const own = withOwn ? (this.own[i] ?? []) : [];
    const ownSet = new Set(own);
    const earlier = (name: string): boolean => {
      const at = this.index.get(name);
      return at !== undefined && at < i;
    };
    let size = count;
    for (const name of ownSet) if (!earlier(name)) size++;
    const set: ReadonlySet<string> = {
      size,
      has: (name: string) => ownSet.has(name) || earlier(name),
    } as ReadonlySet<string>;
    const first = this.first;
    const names = new Names(set, function* () {
      yield* ownSet;
      for (let k = 0; k < count; k++) if (!ownSet.has(first[k]![0])) yield first[k]![0];
    });
    return { key: own.length > 0 ? `smoke${i}` : `before${count}`, names };
  }
}

const COMMAND_SECTIONS = new Set(["gates", "backup", "migrations", "deploy"]);
const PROBE_SECTIONS = new Set(["checks", "smoke", "integrity", "environments"]);

function scopeOf(path: Path): TemplateScope {
  const [section, , third] = path;
  if (section === "notify") return "message";
  if (section === "monitor") return path[1] === "signals" ? "probe" : "message";
  if (typeof section === "string" && COMMAND_SECTIONS.has(section)) return "command";
  if (typeof section === "string" && PROBE_SECTIONS.has(section)) return "probe";
  const last = path[path.length - 1];
  if (
    (section === "preflight" || section === "schedule" || (section === "rollback" && third !== undefined)) &&
    last === "run"
  )
    return "command";
  return "message";
}

function visitStrings(
  value: unknown,
  path: Array<string | number>,
  visit: (text: string, path: Path) => void,
): void {
  if (typeof value === "string") visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => visitStrings(v, [...path, i], visit));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) visitStrings(v, [...path, k], visit);
  }
}
