/**
 * Writes or checks schema/runbook.v1.json. `npm run schema` rewrites it; the test suite
 * fails when the committed file differs from what the declaration generates.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { schemaFile } from "../paths.js";
import { runbookJsonSchemaText } from "./json-schema.js";

export function committedSchema(): string | undefined {
  try {
    return readFileSync(schemaFile(), "utf8");
  } catch {
    return undefined;
  }
}

export function writeSchema(): string {
  writeFileSync(schemaFile(), runbookJsonSchemaText());
  return schemaFile();
}
