/**
 * Writes or checks schema/runbook.v1.json. `npm run schema` rewrites it; the test suite
 * fails when the committed file differs from what the declaration generates.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runbookJsonSchemaText } from "./json-schema.js";

export const SCHEMA_FILE = fileURLToPath(new URL("../../../schema/runbook.v1.json", import.meta.url));

export function committedSchema(): string | undefined {
  try {
    return readFileSync(SCHEMA_FILE, "utf8");
  } catch {
    return undefined;
  }
}

if (process.argv.includes("--write") && process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_FILE, runbookJsonSchemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
