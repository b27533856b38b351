/** The plan: everything Gantry will do for one release of one runbook to one environment, in order. */
import type { WindowStatus } from "./window.js";

export type StepKind =
  | "gate"
  | "check"
  | "confirm"
  | "run"
  | "soak"
  | "decision"
  | "checklist"
  | "backup"
  | "baseline"
  | "migrate"
  | "deploy"
  | "canary"
  | "smoke"
  | "integrity"
  | "checkpoint"
  | "success"
  | "rollback";

export interface PlanStep {
  /** Stable across runs of the same runbook: the basis of idempotency keys. */
  id: string;
  kind: StepKind;
  title: string;
  detail?: string;
  /** Gates that may run together share a group number. */
  parallelGroup?: number;
}

export interface PlanPhase {
  name: string;
  steps: PlanStep[];
}

export interface TimelineEntry {
  at: string;
  offsetMs: number;
  /** Wall-clock time when the plan was made with `--at`. */
  time?: string;
  what: string[];
}

export interface ReleasePlan {
  runbook: { name: string; service: string; file: string };
  environment: string;
  ref?: { ref: string; kind: "tag" | "commit"; version: string; rc: boolean };
  /** The ref asked for with --ref, also when the release policy refuses it. */
  requestedRef?: string;
  /** T, the moment of the deploy, when the plan was made with `--at`. */
  at?: string;
  window: WindowStatus;
  phases: PlanPhase[];
  timeline: TimelineEntry[];
  monitor?: { interval: string; signals: string[]; rules: string[] };
  rollback?: { target: string; steps: PlanStep[] };
  notifications: string[];
  success?: string;
  /** Sections this version of Gantry cannot execute yet. */
  notExecutable: string[];
  /** Reasons a release would be refused right now (ref, missing configuration). */
  blockers: string[];
}
