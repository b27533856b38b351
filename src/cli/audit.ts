/**
 * `gantry audit verify [RUN]` recomputes the hash chain of a run's log, or of every log and
 * the actions log, and names the first record changed, removed or inserted outside Gantry
 * (exit 1). `gantry audit anchor` writes every log's head hash and record count, to be kept
 * elsewhere; `verify --anchor FILE` then also finds the last records removed and a chain
 * recomputed from scratch. The rules are in src/app/audit.ts.
 */
import fs from "node:fs";
import path from "node:path";
import {
  type Anchor,
  type AuditReport,
  anchorAudit,
  type LogAudit,
  parseAnchor,
  verifyAudit,
} from "../app/audit.js";
import { EXIT, ExitError, UsageError } from "../errors.js";
import type { DatabaseOptions } from "../store/database.js";
import { ACTIONS_LOG } from "../store/event-kinds.js";
import { withControl } from "./executor.js";
import { err, json, out } from "./output.js";

export interface VerifyCommandOptions extends DatabaseOptions {
  json?: boolean;
  anchor?: string;
}

export async function verify(run: string | undefined, options: VerifyCommandOptions): Promise<void> {
  const anchor = options.anchor === undefined ? undefined : readAnchor(options.anchor);
  const report = await withControl(options, (control) =>
    verifyAudit(control, { ...(run === undefined ? {} : { run }), ...(anchor ? { anchor } : {}) }),
  );
  if (options.json) json(report);
  else out(describe(report, anchor));
  if (!report.ok) throw new ExitError(EXIT.invalid);
}

export async function anchor(options: DatabaseOptions & { file?: string }): Promise<void> {
  // An earlier anchor in the file is checked first: a new one must not vouch for a truncation.
  const previous = options.file && fs.existsSync(options.file) ? readAnchor(options.file) : undefined;
  const { anchor: taken } = await withControl(options, (control) => anchorAudit(control, previous));
  const text = `${JSON.stringify(taken, null, 2)}\n`;
  if (!options.file) {
    process.stdout.write(text);
    return;
  }
  // Written whole or not at all: a crash never leaves half an anchor in place of the last one.
  const temporary = path.join(
    path.dirname(path.resolve(options.file)),
    `.${path.basename(options.file)}.${process.pid}`,
  );
  try {
    fs.writeFileSync(temporary, text);
    fs.renameSync(temporary, options.file);
  } catch (e) {
    fs.rmSync(temporary, { force: true });
    throw new UsageError(`${options.file}: cannot write the anchor: ${(e as Error).message}`);
  }
  const records = taken.logs.reduce((n, l) => n + l.records, 0);
  err(
    `anchored ${taken.logs.length} logs (${records} records) in ${options.file}${previous ? `, after checking the anchor of ${previous.at} it replaces` : ""}; keep it where the database's users cannot write`,
  );
}

function readAnchor(file: string): Anchor {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  try {
    return parseAnchor(text);
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
}

function describe(report: AuditReport, anchor: Anchor | undefined): string {
  const lines = report.logs.map((l) => `${name(l.log)}: ${l.problem ? problem(l) : intact(l)}`);
  const broken = report.logs.filter((l) => l.problem).length;
  const against = anchor ? `, checked against the anchor of ${anchor.at}` : "";
  lines.push(
    broken === 0
      ? `audit: ${report.logs.length === 1 ? "the log is" : `all ${report.logs.length} logs are`} intact${against}`
      : `audit: ${broken} of ${report.logs.length} logs not intact${against}: records were changed, removed or inserted outside Gantry`,
  );
  return lines.join("\n");
}

function name(log: string): string {
  return log === ACTIONS_LOG ? `${log} (actions outside runs)` : log;
}

function intact(l: LogAudit): string {
  const legacy = "written before Gantry kept the hash chain";
  const parts = [`ok: ${l.records} record${l.records === 1 ? "" : "s"}`];
  if (l.head) {
    if (l.notChained > 0) parts[0] += ` (${l.notChained} not chained: ${legacy})`;
    parts.push(`head ${l.head.hash.slice(0, 12)}`);
  } else if (l.records > 0) {
    parts.push(`none chained (${legacy})`);
  }
  if (l.anchored === true) parts.push("as anchored");
  if (l.anchored === false) parts.push("not in the anchor");
  return parts.join(", ");
}

function problem(l: LogAudit): string {
  const p = l.problem!;
  const r = p.record;
  const where = r
    ? `seq ${r.seq} (record ${r.position} of ${l.records}, ${r.kind} ${r.key}, at ${r.at}): `
    : "";
  return `${p.type.toUpperCase()}: ${where}${p.message}`;
}
