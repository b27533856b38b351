/** How a finished run is told: one line (or one JSON object) with its outcome and reason. */
import type { RunResult } from "../engine/types.js";
import { json, out } from "./output.js";

export function report(result: RunResult, asJson: boolean | undefined): void {
  if (asJson) {
    json(result);
    return;
  }
  out(`${result.outcome}: ${result.reason}`);
  const latency = result.rollback?.detectionLatencyMs;
  if (latency !== undefined) {
    out(`detection latency (rule window elapsed → rollback started): ${latency} ms`);
  }
}
