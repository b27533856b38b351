/** `gantry schema`: print the runbook JSON Schema. */
import { runbookJsonSchemaText } from "../runbook/json-schema.js";

export function printSchema(): void {
  process.stdout.write(runbookJsonSchemaText());
}
