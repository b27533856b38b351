import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkTemplate, renderTemplate, type TemplateNames } from "./template.js";

const names: TemplateNames = {
  secrets: new Set(["stripe"]),
  captures: new Set(["token"]),
  roles: new Set(["sre"]),
  signals: new Set(["error_rate"]),
  checks: new Set(["health"]),
  vars: new Set(["region"]),
};
const messages = (text: string, scope: "command" | "probe" | "message") =>
  checkTemplate(text, scope, names).map((p) => p.message);

describe("checkTemplate", () => {
  it("accepts known variables and filters", () => {
    assert.deepEqual(messages("Deploying {{ release.version | upcase }} to {{ env.name }}", "message"), []);
    assert.deepEqual(messages("Bearer {{ captures.token }}", "probe"), []);
    assert.deepEqual(messages("{{ env.vars.region }} {{ roles.sre.names }}", "message"), []);
    assert.deepEqual(messages("{% for s in smoke.failed %}{{ s }}{% endfor %}", "message"), []);
  });
  it("names the variable that does not exist, with a suggestion", () => {
    assert.deepEqual(messages("{{ release.verison }}", "message"), [
      "unknown variable `release.verison`: did you mean `release.version`?",
    ]);
    assert.deepEqual(messages("{{ relase.version }}", "message"), [
      "unknown variable `relase.version`: did you mean `release.version`?",
    ]);
    assert.deepEqual(messages("{{ secrets.strip }}", "command"), [
      "unknown secrets name `strip` in `secrets.strip`: did you mean `secrets.stripe`?",
    ]);
    assert.deepEqual(messages("{{ env.vars.zone }}", "probe"), [
      "unknown variable `env.vars.zone`: no environment declares vars.zone",
    ]);
  });
  it("keeps secrets out of messages", () => {
    assert.match(
      messages("{{ secrets.stripe }}", "message")[0]!,
      /secrets cannot be used in notification templates/,
    );
  });
  it("reports syntax errors, unknown filters and tags outside messages", () => {
    assert.match(
      messages("{{ release.version ", "message")[0]!,
      /template does not parse: output .* not closed/,
    );
    assert.match(messages("{{ release.version | nope }}", "message")[0]!, /undefined filter: nope/);
    assert.match(messages("{% if x %}y{% endif %}", "command")[0]!, /only allowed in notification templates/);
  });
});

describe("renderTemplate", () => {
  it("renders without HTML escaping", () => {
    assert.equal(renderTemplate("{{ a }} & {{ b.c }}", { a: "<x>", b: { c: 1 } }), "<x> & 1");
  });
});
