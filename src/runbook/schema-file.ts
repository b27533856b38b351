/**
 * Generated files: schema/runbook.v1.json and docs/runbook-reference.md. `npm run schema`
 * rewrites both; the test suite fails when a committed one differs from the declaration.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot, schemaFile } from "../paths.js";
import { runbookJsonSchemaText } from "./json-schema.js";
import { runbookReference } from "./reference.js";

export const GENERATED = {
  schema: { path: () => schemaFile(), text: runbookJsonSchemaText },
  reference: { path: () => join(packageRoot(), "docs", "runbook-reference.md"), text: runbookReference },
};

export function committed(file: keyof typeof GENERATED): string | undefined {
  try {
    return readFileSync(GENERATED[file].path(), "utf8");
  } catch {
    return undefined;
  }
}

export function writeGenerated(): string[] {
  return Object.values(GENERATED).map(({ path, text }) => {
    writeFileSync(path(), text());
    return path();
  });
}
