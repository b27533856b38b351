import assert from "node:assert/strict";
import { test } from "node:test";
import { Counters } from "../metrics.mjs";

test("counters are written as Prometheus text, one series per label set in any order", () => {
  const c = new Counters({ flow_started_total: "Flows started." });
  c.inc("flow_started_total", { flow: 1 });
  c.inc("flow_started_total", { flow: 1 });
  c.inc("flow_started_total", { flow: "2" });
  assert.equal(c.value("flow_started_total", { flow: "1" }), 2);
  assert.equal(
    c.text(),
    '# HELP flow_started_total Flows started.\n# TYPE flow_started_total counter\nflow_started_total{flow="1"} 2\nflow_started_total{flow="2"} 1\n',
  );
});

test("an unknown counter is an error, not a silent new series", () => {
  assert.throws(() => new Counters({}).inc("typo_total"), /unknown counter typo_total/);
});
