/**
 * Reading a runbook file safely: bounded in size, text only, and with an error that says
 * what to do for each way a path can be wrong.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** Runbooks are small; a 1,000-line runbook is about 40 KB. Anything past this is not a runbook. */
export const MAX_RUNBOOK_BYTES = 2 * 1024 * 1024;

export type SourceResult = { ok: true; text: string } | { ok: false; message: string };

/** Reads `path` as UTF-8 text, refusing directories, huge files and binary content. */
export function readSource(path: string): SourceResult {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return { ok: false, message: directoryMessage(path) };
    if (!stat.isFile())
      return { ok: false, message: "not a regular file; pass the path of a runbook YAML file" };
    size = stat.size;
  } catch (error) {
    return { ok: false, message: fsMessage(error) };
  }
  if (size > MAX_RUNBOOK_BYTES) {
    return {
      ok: false,
      message: `file is ${(size / 1024 / 1024).toFixed(1)} MB; a runbook may be at most ${MAX_RUNBOOK_BYTES / 1024 / 1024} MB. Is this the right file?`,
    };
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    return { ok: false, message: fsMessage(error) };
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1)
    return { ok: false, message: `binary file (NUL byte at offset ${nul}); a runbook is YAML text` };
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return { ok: true, text: text.startsWith("\uFEFF") ? text.slice(1) : text };
  } catch {
    return { ok: false, message: "not UTF-8 text; save the runbook as UTF-8" };
  }
}

function directoryMessage(path: string): string {
  for (const name of ["runbook.yaml", "runbook.yml"]) {
    try {
      if (statSync(join(path, name)).isFile()) return `is a directory; did you mean ${join(path, name)}?`;
    } catch {
      // not there: try the next name
    }
  }
  return "is a directory; pass the path of a runbook YAML file";
}

function fsMessage(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "file not found; check the path (gantry init writes a starter runbook)";
  if (code === "EACCES") return "permission denied; the file is not readable by this user";
  if (code === "ENOTDIR") return "a part of this path is a file, not a directory";
  return `cannot read file: ${(error as Error).message}`;
}
