/**
 * The audit trail: every log (each run's, and the log of actions outside runs) is a hash chain
 * (src/store/chain.ts). `verifyAudit` recomputes each chain and names the first record that
 * was changed, removed or inserted behind Gantry's back; `anchorAudit` takes the head of every
 * chain, to be kept elsewhere, so that a later verification also finds the last records
 * removed (truncation) or a whole chain recomputed. The CLI verbs and the HTTP API call these.
 *
 * What a chain cannot tell without an anchor: that records were removed from its end, or that
 * someone with write access to the database recomputed every hash after theirs.
 */
import { type ChainRow, chainHash } from "../store/chain.js";
import { ACTIONS_LOG } from "../store/event-kinds.js";
import type { EventStore } from "../store/events.js";
import { Refusal } from "./refusal.js";

export type AuditProblemType = "changed" | "removed" | "inserted" | "truncated" | "rewritten";

/** A record named by a finding. */
export interface AuditRecord {
  run: string;
  seq: number;
  key: string;
  kind: string;
  /** UTC, to the microsecond, as stored. */
  at: string;
  /** Its place in the log, counting from 1. */
  position: number;
}

export interface AuditProblem {
  type: AuditProblemType;
  /**
   * The record it concerns: the changed or inserted one; for `removed`, the record after the
   * gap; for `truncated`, the last one left; for `rewritten`, the one at the anchored place.
   */
  record?: AuditRecord;
  message: string;
}

/** What verifying one log found. */
export interface LogAudit {
  /** A run id, or ACTIONS_LOG. */
  log: string;
  records: number;
  /** Records at the start of the log written by a Gantry that kept no chain yet (not a failure). */
  notChained: number;
  /** The last chained record of an intact chain (null when nothing is chained, or the chain is broken). */
  head: { hash: string; seq: number; position: number } | null;
  /** With an anchor: whether it held this log. */
  anchored?: boolean;
  /** The first problem, if any: the log is intact without one. */
  problem?: AuditProblem;
}

export interface AuditReport {
  ok: boolean;
  logs: LogAudit[];
}

/** One log's head when the anchor was taken. */
export interface AnchorEntry {
  log: string;
  /** How many records the log had. */
  records: number;
  /** The head's place in the log (0: nothing chained yet). */
  position: number;
  head: string | null;
}

/** What `gantry audit anchor` writes: every log's head, to be kept where the database's users cannot write. */
export interface Anchor {
  anchor: "gantry-audit";
  version: 1;
  at: string;
  logs: AnchorEntry[];
}

/** Where the logs are read from: a Control connection, or an EventStore in tests. */
export interface AuditSource {
  store: EventStore;
}

export interface VerifyOptions {
  /** One log only (a run id, or ACTIONS_LOG); default every log. */
  run?: string;
  /** Heads taken earlier: each must still be in its chain, at its place. */
  anchor?: Anchor;
}

/**
 * Verifies the chain of one log or of every log (and every log the anchor holds).
 *
 * @example const report = await verifyAudit(control, { anchor }); if (!report.ok) …
 */
export async function verifyAudit(source: AuditSource, options: VerifyOptions = {}): Promise<AuditReport> {
  const present = (await source.store.logs()).map((l) => l.log);
  const anchored = new Map((options.anchor?.logs ?? []).map((e) => [e.log, e]));
  let names: string[];
  if (options.run !== undefined) {
    if (options.run !== ACTIONS_LOG && !present.includes(options.run) && !anchored.has(options.run)) {
      const recent = await source.store.runs({ limit: 5 });
      throw new Refusal(
        "not-found",
        `no run ${options.run}${recent.length ? `; recent runs: ${recent.join(", ")}` : "; no runs yet"} (gantry status lists them)`,
      );
    }
    names = [options.run];
  } else {
    names = [...new Set([...present, ACTIONS_LOG, ...anchored.keys()])];
  }
  const logs: LogAudit[] = [];
  for (const log of names) {
    logs.push(await auditLog(source.store.chain(log), log, options.anchor ? anchored.get(log) : undefined));
    if (options.anchor) logs.at(-1)!.anchored = anchored.has(log);
  }
  return { ok: logs.every((l) => !l.problem), logs };
}

/**
 * The head of every log, once every chain has been verified (against `previous`, the anchor
 * this one replaces, when given): refused with the first problem when a log is not intact,
 * since an anchor vouches for what it holds.
 */
export async function anchorAudit(
  source: AuditSource,
  previous?: Anchor,
): Promise<{ anchor: Anchor; report: AuditReport }> {
  const report = await verifyAudit(source, previous ? { anchor: previous } : {});
  const broken = report.logs.filter((l) => l.problem);
  if (broken.length > 0) {
    const first = broken[0]!;
    throw new Refusal(
      "blocked",
      `not anchoring: ${broken.length === 1 ? "a log is" : `${broken.length} logs are`} not intact, and an anchor would vouch for ${broken.length === 1 ? "it" : "them"}. ${first.log}: ${first.problem!.type}: ${first.problem!.message}`,
      [
        `See every finding with: gantry audit verify${previous ? " --anchor FILE (the anchor it would replace)" : ""}`,
      ],
      { report },
    );
  }
  const logs = report.logs.map((l) => ({
    log: l.log,
    records: l.records,
    position: l.head?.position ?? 0,
    head: l.head?.hash ?? null,
  }));
  return { anchor: { anchor: "gantry-audit", version: 1, at: new Date().toISOString(), logs }, report };
}

/** Reads an anchor file's text; throws an Error saying what is wrong with it. */
export function parseAnchor(text: string): Anchor {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON (${(e as Error).message}); write one with: gantry audit anchor --file FILE`);
  }
  const a = value as Partial<Anchor> | null;
  if (
    !a ||
    typeof a !== "object" ||
    a.anchor !== "gantry-audit" ||
    a.version !== 1 ||
    !Array.isArray(a.logs)
  ) {
    throw new Error(
      'not an anchor written by `gantry audit anchor` (expected {"anchor": "gantry-audit", "version": 1, "logs": […]})',
    );
  }
  for (const [i, e] of a.logs.entries()) {
    const whole = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
    if (
      !e ||
      typeof e.log !== "string" ||
      !whole(e.records) ||
      !whole(e.position) ||
      !(e.head === null || (typeof e.head === "string" && /^[0-9a-f]{64}$/.test(e.head)))
    ) {
      throw new Error(
        `logs[${i}]: expected { log, records, position, head } as \`gantry audit anchor\` writes them`,
      );
    }
  }
  return { anchor: "gantry-audit", version: 1, at: String(a.at ?? ""), logs: a.logs };
}

/** Walks one log in seq order and reports the first problem; the records after it are only counted. */
export async function auditLog(
  rows: AsyncIterable<ChainRow>,
  log: string,
  anchored?: AnchorEntry,
): Promise<LogAudit> {
  const walk = new Walk(log);
  const it = rows[Symbol.asyncIterator]();
  let next = await it.next();
  let last: AuditRecord | undefined;
  let atAnchor: { record: AuditRecord; hash: string | null } | undefined;
  while (!next.done) {
    const row = next.value;
    next = await it.next();
    const record = walk.count(row);
    last = record;
    if (record.position === anchored?.position) atAnchor = { record, hash: row.hash };
    if (!walk.problem) walk.judge(row, record, next.done ? undefined : next.value);
  }
  const result: LogAudit = {
    log,
    records: walk.position,
    notChained: walk.notChained,
    head: walk.problem ? null : walk.head,
  };
  const problem =
    walk.problem ?? (anchored ? anchorProblem(anchored, walk.position, last, atAnchor) : undefined);
  if (problem) result.problem = problem;
  return result;
}

/** The state of a walk along one chain. */
class Walk {
  position = 0;
  notChained = 0;
  head: LogAudit["head"] = null;
  problem: AuditProblem | undefined;
  /** The hash the next record must be chained to (null before the chain begins). */
  private expected: string | null = null;
  /** Every chained hash so far, with the record that followed it (to tell what a later record links past). */
  private readonly seen = new Map<string, { record: AuditRecord; after?: AuditRecord }>();

  constructor(private readonly log: string) {}

  count(row: ChainRow): AuditRecord {
    this.position++;
    return { run: this.log, seq: row.seq, key: row.key, kind: row.kind, at: row.at, position: this.position };
  }

  judge(row: ChainRow, record: AuditRecord, following: ChainRow | undefined): void {
    const previous = this.expected === null ? undefined : this.seen.get(this.expected)?.record;
    if (row.hash === null) {
      if (this.head === null) {
        this.notChained++;
        return;
      }
      this.fail(
        "inserted",
        record,
        "it has no hash: Gantry did not write it (inserted into gantry.events directly)",
      );
      return;
    }
    const intact = chainHash(row.prevHash, row) === row.hash;
    const linked = row.prevHash === this.expected;
    if (linked && intact) {
      this.accept(row.hash, record);
      return;
    }
    if (this.expected !== null && following?.prevHash === this.expected) {
      this.fail(
        "inserted",
        record,
        `the record after it (seq ${following.seq}) is chained past it, to seq ${previous!.seq}`,
      );
      return;
    }
    if (linked) {
      this.fail("changed", record, "its content no longer matches its hash");
      return;
    }
    const earlier = row.prevHash === null ? undefined : this.seen.get(row.prevHash);
    if (intact && earlier?.after) {
      this.fail(
        "inserted",
        earlier.after,
        `the record at seq ${row.seq} (${row.key}) is chained past it, to seq ${earlier.record.seq}`,
      );
      return;
    }
    if (intact && row.prevHash === null) {
      this.fail("inserted", record, "it begins a chain of its own in the middle of the log");
      return;
    }
    if (intact) {
      this.fail(
        "removed",
        record,
        previous
          ? `the record before it is missing: the one it is chained to, at position ${record.position} between seq ${previous.seq} (${previous.key}) and this one, is no longer in the log (or seq ${previous.seq} was rewritten with a new hash)`
          : `the records before it are missing: it is chained to a record that is no longer in the log${this.notChained ? ` (or the hashes of the ${this.notChained} records before it were removed)` : ""}`,
      );
      return;
    }
    this.fail(
      "changed",
      record,
      "its content or its link to the record before it no longer matches its hash",
    );
  }

  private accept(hash: string, record: AuditRecord): void {
    const before = this.expected === null ? undefined : this.seen.get(this.expected);
    if (before) before.after = record;
    this.seen.set(hash, { record });
    this.expected = hash;
    this.head = { hash, seq: record.seq, position: record.position };
  }

  private fail(type: AuditProblemType, record: AuditRecord, message: string): void {
    this.problem = { type, record, message };
  }
}

/** What an anchor says about a log whose chain is intact: truncated, rewritten, or nothing. */
function anchorProblem(
  anchored: AnchorEntry,
  records: number,
  last: AuditRecord | undefined,
  atAnchor: { record: AuditRecord; hash: string | null } | undefined,
): AuditProblem | undefined {
  if (records < anchored.records) {
    const gone = anchored.records - records;
    return {
      type: "truncated",
      ...(last ? { record: last } : {}),
      message:
        records === 0
          ? `the whole log was removed: it had ${anchored.records} records when anchored`
          : `it had ${anchored.records} records when anchored and has ${records}: the last ${gone === 1 ? "record was" : `${gone} records were`} removed`,
    };
  }
  if (anchored.head === null || atAnchor?.hash === anchored.head) return undefined;
  return {
    type: "rewritten",
    ...(atAnchor ? { record: atAnchor.record } : {}),
    message: `the anchored head ${anchored.head.slice(0, 12)} (position ${anchored.position}) is no longer in the chain there${atAnchor?.hash ? ` (${atAnchor.hash.slice(0, 12)} is)` : ""}: the chain was recomputed, or records were removed or inserted and every hash after them recomputed`,
  };
}
