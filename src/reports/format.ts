/** How reports write times and durations: UTC clock times, `674 ms`, `30s`, met or missed. */
import { formatMs } from "../exec/command.js";
import type { ReleaseRecord } from "./record.js";

/** `2026-12-01 21:12:23 UTC` */
export function when(iso: string | null): string {
  if (!iso) return "—";
  return `${iso.slice(0, 19).replace("T", " ")} UTC`;
}

/** `21:12:23.372`: a moment within the run, to the millisecond. */
export function clock(iso: string | null): string {
  if (!iso) return "—";
  return iso.slice(11, 23);
}

export function duration(ms: number | null): string {
  return ms === null ? "—" : formatMs(Math.max(0, Math.round(ms)));
}

/** `674 ms (target 30s, met)` */
export function againstTarget(ms: number | null, targetMs: number | null, met: boolean | null): string {
  if (targetMs === null) return duration(ms);
  const verdict = met === null ? "" : met ? ", met" : ", missed";
  return `${duration(ms)} (target ${duration(targetMs)}${verdict})`;
}

/** A rollback's moments and its time against its target, as every format lists them. */
export function rollbackRows(b: NonNullable<ReleaseRecord["rollback"]>): Array<[string, string]> {
  return [
    ["Rolled back to", b.to ?? "—"],
    ["Detected", clock(b.detectedAt)],
    ["Started", clock(b.startedAt)],
    [
      "Completed",
      b.finishedAt ? `${clock(b.finishedAt)}${b.ok === false ? " (not verified)" : ""}` : "not completed",
    ],
    ["Detection to rollback complete", againstTarget(b.detectToDoneMs, b.targetMs, b.withinTarget)],
  ];
}

/** A measured value as text: numbers to 3 significant digits, others as they are. */
export function value(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}
