/** The JSON Schema of the runbook format, generated from the zod declaration (never written by hand). */
import * as z from "zod";
import { Runbook } from "./schema/runbook.js";

export const SCHEMA_ID = "https://gantry.dev/schema/runbook.v1.json";

/** The schema for what people write (input side: shorthands allowed, defaults shown). */
export function runbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Runbook, {
    io: "input",
    unrepresentable: "any",
    reused: "ref",
    target: "draft-2020-12",
  });
  return { ...schema, $id: SCHEMA_ID };
}

/** The committed file's text: stable key order, two-space indent, trailing newline. */
export function runbookJsonSchemaText(): string {
  return `${JSON.stringify(runbookJsonSchema(), null, 2)}\n`;
}
