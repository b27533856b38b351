/** Generated files are generated from the declaration; this fails when a committed one is stale. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runbookJsonSchemaText } from "../src/runbook/json-schema.js";
import { runbookReference } from "../src/runbook/reference.js";
import { committed, GENERATED } from "../src/runbook/schema-file.js";

describe("generated files", () => {
  it("schema/runbook.v1.json matches the declaration (run `npm run schema` after changing src/runbook/schema/)", () => {
    assert.ok(committed("schema") !== undefined, `${GENERATED.schema.path()} is missing`);
    assert.equal(committed("schema"), runbookJsonSchemaText());
  });
  it("docs/runbook-reference.md matches the declaration (run `npm run schema`)", () => {
    assert.equal(committed("reference"), runbookReference());
  });
  it("the schema describes every top-level key and forbids unknown ones", () => {
    const schema = JSON.parse(runbookJsonSchemaText());
    assert.equal(schema.additionalProperties, false);
    const describe = (node: { $ref?: string; description?: string }): string | undefined =>
      node.description ?? (node.$ref ? describe(schema.$defs[node.$ref.split("/").pop()!]) : undefined);
    for (const [key, value] of Object.entries(schema.properties)) {
      assert.ok(describe(value as { $ref?: string }), `top-level key ${key} has no description`);
    }
  });
});
