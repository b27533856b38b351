import assert from "node:assert/strict";
import { test } from "node:test";
import { redactor, secretsUsed } from "./secrets.js";

test("redactor masks every occurrence, longest value first", () => {
  const redact = redactor(["abcd1234", "abcd1234-long", "xy"]);
  assert.equal(redact("a=abcd1234-long b=abcd1234 c=xy"), "a=••• b=••• c=xy");
  assert.equal(redactor([])("nothing to hide"), "nothing to hide");
});

test("secretsUsed finds the secrets a template refers to", () => {
  assert.deepEqual(secretsUsed("curl -H 'x: {{ secrets.api_token }}' {{ secrets.db-url }}"), [
    "api_token",
    "db-url",
  ]);
});
