/**
 * What a routine's alert says: the runbook's template (notify.templates.<name>) filled with the
 * run's results, or a default text naming each check that did not pass and why. Built from the
 * recorded run only (its messages are masked already), then redacted once more: it leaves Gantry.
 */
import path from "node:path";
import type { Message } from "../channels/types.js";
import { baseValues, type EnvironmentScope } from "../checks/scope.js";
import type { RoutineSpec } from "../runbook/schema/routines.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import { renderTemplate } from "../runbook/template.js";
import type { AlertKind, RoutineRun } from "../store/routines.js";

export interface AlertInput {
  runbook: Runbook;
  file: string;
  spec: RoutineSpec;
  run: RoutineRun;
  kind: AlertKind;
  /** The failed run before this one (recovery). */
  previous?: RoutineRun;
  scope: EnvironmentScope;
  key: string;
}

export function alertMessage(a: AlertInput): Message {
  const { runbook, spec, run, kind } = a;
  const service = runbook.metadata.service;
  const failed = run.results.filter((r) => r.phase !== "successful");
  const reason =
    kind === "failure"
      ? failed.map((r) => `${r.name}: ${r.message}`).join("; ")
      : `all ${run.results.length} checks passed${a.previous ? ` (failed at ${a.previous.occurrence})` : ""}`;
  const values = alertValues(
    a,
    failed.map((r) => r.name),
    reason,
  );
  const template = spec.alert?.template ? runbook.notify?.templates[spec.alert.template] : undefined;
  const root = path.dirname(path.resolve(a.file));
  const redact = a.scope.secrets.redact;
  const fallback = redact(defaultText(a, failed, reason));
  // A template that cannot be filled in (an include gone, over the size limit) still alerts.
  const fill = (t: string, otherwise: string) => {
    try {
      return redact(renderTemplate(t, values, { root }));
    } catch (e) {
      return `${otherwise}\n(template ${spec.alert?.template} could not be filled in: ${redact((e as Error).message)})`;
    }
  };
  const text = template ? fill(template.text, fallback) : fallback;
  const plainSubject = `${service} (${run.environment}): routine ${spec.name} ${kind === "failure" ? "failed" : "passed again"}`;
  const subject = template?.subject ? fill(template.subject, plainSubject) : plainSubject;
  return {
    key: a.key,
    event: kind === "failure" ? "routine.failed" : "routine.recovered",
    subject,
    text,
    ...(template?.html ? { html: fill(template.html, fallback) } : {}),
    release: {
      run: `routine/${service}/${spec.name}/${run.occurrence}`,
      service,
      environment: run.environment,
      version: "—",
    },
    status: kind === "failure" ? `routine ${spec.name} failed` : `routine ${spec.name} passed`,
    at: run.finishedAt,
    data: {
      routine: spec.name,
      occurrence: run.occurrence,
      trigger: run.trigger,
      passed: run.passed,
      results: run.results.map((r) => ({ name: r.name, type: r.type, phase: r.phase, message: r.message })),
    },
  };
}

function alertValues(a: AlertInput, failed: string[], reason: string): Record<string, unknown> {
  const { secrets: _secrets, ...base } = baseValues(a.runbook, a.run.environment, a.file, a.scope.secrets);
  const checks = Object.fromEntries(
    a.run.results.map((r) => [r.name, { value: r.value, phase: r.phase, message: r.message }]),
  );
  return {
    ...base,
    reason,
    checks,
    routine: {
      name: a.spec.name,
      description: a.spec.description ?? "",
      env: a.run.environment,
      cron: a.spec.cron,
      at: a.run.occurrence,
      status: a.kind === "failure" ? "failed" : "recovered",
      failed,
      results: a.run.results,
    },
  };
}

function defaultText(a: AlertInput, failed: RoutineRun["results"], reason: string): string {
  const { spec, run, runbook } = a;
  const where = `${runbook.metadata.service} in ${run.environment}`;
  const what = spec.description ? ` (${spec.description})` : "";
  if (a.kind === "recovery") return `Routine ${spec.name}${what} passed again: ${where}, ${reason}.`;
  return [
    `Routine ${spec.name}${what} failed: ${where}, occurrence ${run.occurrence}; ${failed.length} of ${run.results.length} checks did not pass:`,
    ...failed.map((r) => `• ${r.name} (${r.type}, ${r.phase}): ${r.message}`),
    `Run it again: gantry routines run ${a.file} ${spec.name}`,
  ].join("\n");
}
