/**
 * The local-process provider's bookkeeping on this machine: which process group it started
 * (pid, port, its start time in /proc, which guards against pid reuse), for which version and
 * key. Only this machine can act on a pid, so this stays in the local folder as
 * `<localDir>/process.json`; what serves and the deploy history are in the provider state
 * (Postgres). Writes go to a temp file renamed over the old one: a crash never leaves half a
 * file.
 *
 * Upgrading from 0.4: until process.json is first written, the process recorded as `current`
 * in the old `state.json` of the same folder is the one to look after.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ProcessRecord {
  /** The process group leader. */
  pid: number;
  port: number;
  /** Its start time in /proc, when known. */
  procStart?: string;
  /** The version it serves and the key of the deploy or rollback that started it. */
  version: string;
  key?: string;
  startedAt: string;
}

export class ProcessFile {
  readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, "process.json");
  }

  /** The process this provider started here and has not seen stop, if any. */
  read(): ProcessRecord | undefined {
    const own = readJson(this.path);
    if (own !== undefined) return asRecord((own as { process?: unknown }).process);
    // 0.4 kept it as `current` in state.json, with the key in the latest entry that started it.
    const legacy = readJson(join(this.dir, "state.json")) as
      | { current?: Record<string, unknown>; deploys?: Array<Record<string, unknown>> }
      | undefined;
    const record = asRecord(legacy?.current);
    if (!record) return undefined;
    const deploys = Array.isArray(legacy?.deploys) ? legacy.deploys : [];
    for (let i = deploys.length - 1; i >= 0; i--) {
      const d = deploys[i];
      if (d?.pid === record.pid && typeof d.key === "string") return { ...record, key: d.key };
    }
    return record;
  }

  /** Records the process now running (undefined: none). */
  write(record: ProcessRecord | undefined): void {
    mkdirSync(this.dir, { recursive: true });
    const temp = `${this.path}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(temp, `${JSON.stringify({ process: record ?? null }, null, 2)}\n`);
    renameSync(temp, this.path);
  }
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) ?? {};
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message}); fix or remove it`);
  }
}

function asRecord(value: unknown): ProcessRecord | undefined {
  const v = value as Partial<ProcessRecord> | null | undefined;
  if (!v || typeof v.pid !== "number" || !Number.isInteger(v.pid) || v.pid <= 0) return undefined;
  if (typeof v.version !== "string") return undefined;
  return {
    pid: v.pid,
    port: typeof v.port === "number" ? v.port : 0,
    ...(typeof v.procStart === "string" ? { procStart: v.procStart } : {}),
    version: v.version,
    ...(typeof v.key === "string" ? { key: v.key } : {}),
    startedAt: typeof v.startedAt === "string" ? v.startedAt : new Date(0).toISOString(),
  };
}
