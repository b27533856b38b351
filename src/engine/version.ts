/**
 * The version of the workflow's shape. DBOS resumes a run only under the version that started
 * it: this changes whenever the sequence of durable steps changes, so a Gantry upgrade never
 * replays an older run against a different sequence. What happens to runs of an earlier
 * version: docs/engine.md ("Engine versions").
 *
 * gantry-engine-2: the plan is stored with the run and executed as recorded; step kinds are
 * modules; facts are part of step results; monitoring samples during waits.
 * gantry-engine-3: notifications: messages rendered in recorded steps and sent to a courier
 * workflow per channel; the run's clock is read at its start when the runbook subscribes.
 * gantry-engine-4: people: approvals count per role and record the evidence their approvers
 * saw (a recorded step per approval with inputs); the plan carries roles.
 */
export const ENGINE_VERSION = "gantry-engine-4";

/** Runs created before the version was recorded with them were started by this one. */
export const FIRST_ENGINE_VERSION = "gantry-engine-1";

/** The DBOS queue `release --detach` puts runs on, and the workflow's registered name. */
export const QUEUE = "gantry-releases";
export const WORKFLOW_NAME = "release";
/** DBOS's own queue for recovered and resumed workflows (its INTERNAL_QUEUE_NAME). */
export const INTERNAL_QUEUE = "_dbos_internal_queue";
