/** The committed JSON Schema is generated from the declaration; this fails when it is stale. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { schemaFile } from "../src/paths.js";
import { runbookJsonSchemaText } from "../src/runbook/json-schema.js";
import { committedSchema } from "../src/runbook/schema-file.js";

describe("schema/runbook.v1.json", () => {
  it("matches the declaration (run `npm run schema` after changing src/runbook/schema/)", () => {
    assert.ok(committedSchema() !== undefined, `${schemaFile()} is missing`);
    assert.equal(committedSchema(), runbookJsonSchemaText());
  });
  it("describes every top-level key and forbids unknown ones", () => {
    const schema = JSON.parse(runbookJsonSchemaText());
    assert.equal(schema.additionalProperties, false);
    for (const [key, value] of Object.entries(
      schema.properties as Record<string, { description?: string; $ref?: string }>,
    )) {
      assert.ok(value.description || value.$ref, `top-level key ${key} has no description`);
    }
  });
});
