/**
 * Running the rules on a runbook the schema refused (salvage.ts): each rule sees views that
 * stop it as soon as it reads a part the schema refused, and what a stopped rule reported is
 * dropped. A rule that reads only accepted parts reports as it would on a valid runbook.
 *
 * The view of the normalized runbook stops at any refused part. The view of the value as
 * written stops only where a refused part is absent (a missing key, or the key an unknown key
 * was meant to be): what is written is what is written, and rules that walk it (quoting,
 * secrets) look at each string on its own.
 */
import type { Path } from "../diagnostics.js";
import type { Marks } from "../salvage.js";
import type { RuleContext, RunbookRule } from "./context.js";

/** Thrown through a rule that read a refused part; caught here, never seen elsewhere. */
const STOP = Symbol("read a part the schema refused");

type Report = [severity: "error" | "warn", path: Path, message: string | (() => string), key?: boolean];

/** Runs each rule on `ctx` (whose runbook and raw value are salvaged) guarded by `marks`. */
export function runGuarded(rules: readonly RunbookRule[], ctx: RuleContext, marks: Marks): void {
  if (marks.marked) return; // the schema refused the whole: nothing to read
  for (const rule of rules) {
    const reports: Report[] = [];
    let stopped = false;
    const read = { refused: false };
    const view: RuleContext = {
      runbook: guard(ctx.runbook, marks, read, false) as RuleContext["runbook"],
      raw: guard(ctx.raw, marks, read, true),
      error: (path, message, key) => reports.push(["error", path, message, key]),
      warn: (path, message, key) => reports.push(["warn", path, message, key]),
      get full() {
        return ctx.full;
      },
      stopped: () => {
        stopped = true;
      },
    };
    try {
      rule(view);
    } catch (error) {
      // A rule that read a refused part may trip over the value as written: not a bug.
      if (error !== STOP && !read.refused) throw error;
    }
    if (read.refused) continue;
    for (const [severity, path, message, key] of reports) {
      // Inside a part the schema refused, the schema's error says it already.
      if (!marks.covers(path)) ctx[severity](path, message, key);
    }
    if (stopped) ctx.stopped();
  }
}

/** A view of `value` that throws STOP (and notes it in `read`) when a rule reads a marked part. */
function guard(value: unknown, marks: Marks, read: { refused: boolean }, written: boolean): unknown {
  if (value === null || typeof value !== "object") return value;
  const views = new WeakMap<object, Map<Marks, object>>();
  const stop = (): never => {
    read.refused = true;
    throw STOP;
  };
  const wrap = (target: object, node: Marks): object => {
    let byNode = views.get(target);
    if (!byNode) {
      byNode = new Map();
      views.set(target, byNode);
    }
    let view = byNode.get(node);
    if (!view) {
      view = new Proxy(target, {
        get(t, key, receiver) {
          const item = Reflect.get(t, key, receiver);
          if (typeof key === "symbol") return item;
          const child = node.children.get(key);
          if (!child) return item;
          if (child.marked && (!written || item === undefined)) stop();
          if (item === null || typeof item !== "object") return item;
          // A property that can never change must be returned as it is (a Proxy invariant).
          const own = Reflect.getOwnPropertyDescriptor(t, key);
          if (own && !own.configurable && !own.writable) return item;
          return wrap(item, child);
        },
        has(t, key) {
          const child = typeof key === "string" ? node.children.get(key) : undefined;
          if (child?.marked && (!written || !Reflect.has(t, key))) stop();
          return Reflect.has(t, key);
        },
      });
      byNode.set(node, view);
    }
    return view;
  };
  return wrap(value, marks);
}
