/**
 * The command probe: runs a shell command (as gates do: /bin/sh -c, its own process group,
 * killed at the timeout or when the step is cancelled) and reads its result.
 *
 * - parse: exit — the value is the exit code. Without `expect`, exit 0 is successful and any
 *   other code is `failed` (the command ran and said no); `expect` compares the code instead.
 * - parse: number — stdout, trimmed, read as a number; parse: json — stdout read as JSON and,
 *   with `path`, the JSONPath's first match. `expect` judges the value.
 *
 * `error`, never a verdict: the command was not found, timed out or was cancelled; with
 * number/json, it exited non-zero (nothing was measured) or printed what cannot be read.
 */
import { JSONPath } from "jsonpath-plus";
import { runCommand } from "../exec/command.js";
import type { Probe } from "../runbook/schema/probes.js";
import { errorText, guard, judge, type Outcome, show } from "./shared.js";
import type { ProbeContext, ProbeImplementation, Value } from "./types.js";

type CommandSpec = Extract<Probe, { type: "command" }>;

export const commandProbe: ProbeImplementation<"command"> = {
  type: "command",
  measure: (spec, context) => guard("command", context, () => measureCommand(spec, context ?? {})),
};

async function measureCommand(spec: CommandSpec, context: ProbeContext): Promise<Outcome> {
  const what = `\`${short(spec.run)}\``;
  if (typeof spec.run !== "string" || spec.run.trim() === "") {
    return { phase: "error", message: "command probe: `run` must be a command" };
  }
  if (context.signal?.aborted) return { phase: "error", message: `${what}: cancelled` };
  const result = await runCommand(spec.run, {
    ...(context.dir ? { cwd: context.dir } : {}),
    timeoutMs: spec.timeout.ms,
    ...(context.signal ? { signal: context.signal } : {}),
    keepLines: 20,
  });
  const last = result.output.filter((l) => l.trim() !== "").at(-1);
  const tail = last ? `: ${last.trim()}` : "";
  if (result.timedOut) return { phase: "error", message: `${what}: timed out after ${spec.timeout.text}` };
  if (result.aborted) return { phase: "error", message: `${what}: cancelled` };
  if (result.problem) return { phase: "error", message: `${what}: ${result.problem}` };
  const code = result.exitCode ?? -1;
  const detail = { exitCode: code, durationMs: result.durationMs };

  if (spec.parse === "exit") {
    if (spec.expect) return judge(code, `${what} exited ${code}${tail}`, spec.expect, { detail });
    return code === 0
      ? { phase: "successful", value: 0, message: `${what} exited 0`, detail }
      : { phase: "failed", value: code, message: `${what} exited ${code}${tail}`, detail };
  }
  if (code !== 0) {
    return { phase: "error", value: code, message: `${what} exited ${code}, nothing to read${tail}`, detail };
  }
  const read = spec.parse === "number" ? readNumber(result.stdout) : readJson(result.stdout, spec.path);
  if ("why" in read) return { phase: "error", message: `${what}: ${read.why}`, detail };
  const said = `${what}${spec.path ? ` ${spec.path}` : ""} = ${show(read.value)}`;
  return judge(read.value, said, spec.expect, { detail });
}

function readNumber(stdout: string): { value: number } | { why: string } {
  const text = stdout.trim();
  const value = text === "" ? Number.NaN : Number(text);
  return Number.isFinite(value) ? { value } : { why: `printed ${show(text.slice(0, 60))}, not a number` };
}

function readJson(stdout: string, path: string | undefined): { value: Value } | { why: string } {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch (err) {
    return { why: `stdout is not JSON (${errorText(err)})` };
  }
  if (!path) return scalar(json, "the output");
  if (!path.startsWith("$")) return { why: `path ${path} must start with $` };
  const found = JSONPath({ path, json: json as object, wrap: true }) as unknown[];
  if (found.length === 0) return { why: `${path} is missing from the output` };
  return scalar(found[0], path);
}

function scalar(v: unknown, where: string): { value: Value } | { why: string } {
  if (v === null || typeof v === "number" || typeof v === "string" || typeof v === "boolean") {
    return { value: v };
  }
  return {
    why: `${where} is ${Array.isArray(v) ? "a list" : "an object"}, not one value: give a path to a value`,
  };
}

function short(command: string): string {
  const line = String(command).replace(/\s+/g, " ").trim();
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}
