/** Time: checkpoints in order, positions that exist, windows and freezes that make sense. */
import type { Path } from "../diagnostics.js";
import { formatDuration } from "../duration.js";
import { closest } from "../suggest.js";
import { isTimeZone } from "../time-zone.js";
import type { RuleContext, RunbookRule } from "./context.js";

export const checkpointsInOrder: RunbookRule = (ctx) => {
  const checkpoints = ctx.runbook.monitor?.checkpoints ?? [];
  let previous = -1;
  checkpoints.forEach((c, i) => {
    const path: Path = ["monitor", "checkpoints", i];
    if (c.at.ms < 0)
      ctx.error(
        path,
        `checkpoint ${c.at.text} is before the deploy; monitoring checkpoints are T+0 or later`,
      );
    else if (c.at.ms <= previous) {
      ctx.error(
        path,
        `checkpoint ${c.at.text} is not after ${checkpoints[i - 1]!.at.text}; list checkpoints in time order, each once`,
      );
    }
    previous = Math.max(previous, c.at.ms);
  });
};

/** `after:` positions must name a phase the runbook has, or one of its checkpoints. */
export const anchorsExist: RunbookRule = (ctx) => {
  const rb = ctx.runbook;
  const checkpoints = (rb.monitor?.checkpoints ?? []).map((c) => c.at);
  const present: Record<string, boolean> = {
    gates: rb.gates.length > 0,
    // Validation, parity and drift are pre-flight steps too.
    preflight:
      rb.preflight.length > 0 ||
      Object.values(rb.environments).some((e) => e.validate.length > 0) ||
      (rb.parity?.in.length ?? 0) > 0 ||
      (rb.drift?.in.length ?? 0) > 0,
    backup: rb.backup !== undefined,
    migrations: rb.migrations !== undefined,
    deploy: rb.deploy !== undefined,
    smoke: rb.smoke.length > 0,
    integrity: rb.integrity.length > 0,
    monitor: rb.monitor !== undefined,
  };
  const written = new Set(checkpoints.flatMap((c) => [c.text, normalize(c.text)]));
  const check = (path: Path, anchor: string) => {
    if (anchor.startsWith("T+")) {
      if (checkpoints.length === 0) {
        ctx.error(path, `\`${anchor}\` is a monitoring checkpoint, but there is no monitor section`);
        return;
      }
      if (!written.has(anchor) && !written.has(normalize(anchor))) {
        ctx.error(path, () => {
          const names = checkpoints.map((c) => c.text);
          const guess = closest(anchor, names.slice(0, 1_000));
          return `no checkpoint ${anchor}${guess ? `; did you mean ${guess}?` : `; checkpoints are ${listed(names)}`}`;
        });
      }
    } else if (!present[anchor]) {
      ctx.error(path, `after \`${anchor}\`, but this runbook has no ${anchor} section`);
    }
  };
  rb.decisions.forEach((d, i) => check(["decisions", i, "after"], d.after));
  rb.checklists.forEach((c, i) => check(["checklists", i, "after"], c.after));
  if (rb.migrations?.contract) check(["migrations", "contract", "after"], rb.migrations.contract.after);
};

function listed(names: string[]): string {
  return names.length <= 20
    ? names.join(", ")
    : `${names.slice(0, 20).join(", ")} and ${names.length - 20} more`;
}

function normalize(offset: string): string {
  return offset.replace(/^T\+0(?:ms|s|m|h|d|w)?$/, "T+0");
}

export const rulesCanFire: RunbookRule = (ctx) => {
  const monitor = ctx.runbook.monitor;
  if (!monitor) return;
  // Not Math.max(...list): spreading a long list overflows the stack.
  const span = monitor.checkpoints.reduce((max, c) => Math.max(max, c.at.ms), Number.NEGATIVE_INFINITY);
  monitor.rules.forEach((rule, i) => {
    if (rule.for.ms > span) {
      ctx.warn(
        ["monitor", "rules", i, "for"],
        `rule \`${rule.name}\` needs ${rule.for.text} to fire but monitoring ends at T+${formatDuration(span)}; it can never fire`,
      );
    }
  });
  if (monitor.interval.ms === 0)
    ctx.error(["monitor", "interval"], "the sampling interval must be longer than 0s");
};

export const windowsValid: RunbookRule = (ctx) => {
  for (const [name, env] of Object.entries(ctx.runbook.environments)) {
    env.windows.forEach((w, i) => windowValid(ctx, ["environments", name, "windows", i], w, "window"));
    env.freezes.forEach((f, i) => {
      if (Date.parse(f.until) <= Date.parse(f.from))
        ctx.error(["environments", name, "freezes", i, "until"], "freeze ends before it starts");
    });
  }
};

type Window = RuleContext["runbook"]["environments"][string]["windows"][number];

/** A recurring window (a deployment window, on-call hours): a known time zone, an end after its start. */
function windowValid(ctx: RuleContext, path: Path, w: Window, what: string): void {
  if (!isTimeZone(w.timezone)) {
    ctx.error(
      [...path, "timezone"],
      `unknown time zone \`${w.timezone}\`; use an IANA name such as America/New_York or UTC`,
    );
  }
  if (w.end <= w.start) {
    ctx.error(
      [...path, "end"],
      what === "window"
        ? `window ends (${w.end}) before it starts (${w.start}); for a window across midnight, write two windows`
        : `${what} end (${w.end}) before they start (${w.start}); for hours across midnight, write two entries`,
    );
  }
}

/** On-call hours of roles and components: valid windows; a backup that is not the role itself; outOfHours only with hours. */
export const hoursValid: RunbookRule = (ctx) => {
  const { roles, components } = ctx.runbook;
  const owners: Array<[Path, string, OnCallSpec]> = [
    ...Object.entries(roles).map(([n, r]): [Path, string, OnCallSpec] => [["roles", n], n, r]),
    ...Object.entries(components).map(([n, c]): [Path, string, OnCallSpec] => [
      ["components", n],
      c.owner,
      c,
    ]),
  ];
  for (const [path, role, o] of owners) {
    o.hours?.forEach((w, i) => windowValid(ctx, [...path, "hours", i], w, "on-call hours"));
    if (o.backup !== undefined && o.backup === role)
      ctx.error(
        [...path, "backup"],
        `\`${role}\` cannot be its own backup; name another role, or leave backup out`,
      );
    if (o.outOfHours?.length && o.hours === undefined)
      ctx.warn(
        [...path, "outOfHours"],
        "outOfHours has no effect without hours: a role without hours is paged at any time; add hours, or remove outOfHours",
      );
  }
};

type OnCallSpec = Pick<RuleContext["runbook"]["roles"][string], "backup" | "hours" | "outOfHours">;
