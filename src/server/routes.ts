/**
 * The HTTP API's routes: one per operation of the CLI, each a translation of a request into
 * one call of the application layer, which decides who may do what (src/app/authorize.ts).
 * Each route's schema feeds the OpenAPI document (GET /api/openapi.json).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { verifyAudit } from "../app/audit.js";
import { overrideWindow } from "../app/freezes.js";
import type { Identity } from "../app/identity.js";
import { permissionsOf } from "../app/permissions.js";
import { Refusal } from "../app/refusal.js";
import { loadRelease, prepareRelease, queueRelease } from "../app/release.js";
import {
  abort,
  acknowledge,
  answer,
  findRun,
  handoff,
  listRuns,
  markItem,
  requestRollback,
  runLog,
} from "../app/runs.js";
import { scheduleOf } from "../app/schedule.js";
import type { Control } from "../engine/control.js";
import type { RunView } from "../engine/state.js";
import type { EventHub } from "./stream.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Who sent the request, proved by its token (set before any route runs). */
    identity: Identity;
  }
}

const RUN = {
  type: "object",
  required: ["run"],
  properties: { run: { type: "string", minLength: 1, maxLength: 200 } },
} as const;
const TEXT = { type: "string", minLength: 1, maxLength: 2000 } as const;
const ROLE = { type: "string", minLength: 1, maxLength: 64 } as const;

function body(properties: Record<string, unknown>, required: string[] = []) {
  return { type: "object", additionalProperties: false, properties, required } as const;
}

type RunParams = { Params: { run: string } };

/** A run as the runs list shows it. */
export function summary(v: RunView) {
  return {
    id: v.id,
    service: v.service,
    environment: v.environment,
    version: v.version,
    ref: v.ref,
    status: v.status,
    outcome: v.outcome ?? null,
    reason: v.reason ?? null,
    operator: v.operator,
    createdAt: v.createdAt,
    finishedAt: v.finishedAt ?? null,
  };
}

export function registerRoutes(
  app: FastifyInstance,
  control: Control,
  hub: EventHub,
  /** The runbook files this server may release, as given to `gantry server --runbook`. */
  runbooks: string[] = [],
): void {
  const who = (request: FastifyRequest) => request.identity;

  app.get(
    "/api/runbooks",
    { schema: { summary: "The runbooks this server may release", tags: ["releases"] } },
    async () => runbooks.map((file) => ({ file })),
  );

  app.post<{ Body: { runbook: string; env: string; ref: string; override?: string } }>(
    "/api/releases",
    {
      schema: {
        summary: "Start a release: queued for a worker, as `gantry release --detach` does",
        tags: ["releases"],
        body: body(
          { runbook: TEXT, env: ROLE, ref: { type: "string", minLength: 1, maxLength: 200 }, override: TEXT },
          ["runbook", "env", "ref"],
        ),
      },
    },
    async (r, reply) => {
      const { runbook, env, ref, override } = r.body;
      if (!runbooks.includes(runbook)) {
        throw new Refusal(
          "not-found",
          runbooks.length === 0
            ? "this server releases no runbooks: start it with gantry server --runbook FILE"
            : `this server does not release ${runbook}; it releases: ${runbooks.join(", ")}`,
        );
      }
      const loaded = loadRelease(runbook, { env, ref });
      const input = prepareRelease({
        file: runbook,
        ...loaded,
        ...(override !== undefined ? { override: true } : {}),
      });
      const queued = await queueRelease(control, input, who(r), override);
      void reply.code(202);
      return {
        run: queued.input.runId,
        outcome: "queued",
        worker: queued.executor?.verb === "worker",
      };
    },
  );

  app.get(
    "/api/whoami",
    { schema: { summary: "Who the token belongs to", tags: ["identity"] } },
    async (r) => {
      const { name, roles, admin, tokenId } = who(r);
      return { name, roles, admin, tokenId: tokenId ?? null };
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    "/api/runs",
    {
      schema: {
        summary: "The most recent runs",
        tags: ["runs"],
        querystring: {
          type: "object",
          properties: { limit: { type: "integer", minimum: 1, maximum: 500, default: 50 } },
        },
      },
    },
    async (r) => (await listRuns(control, r.query.limit ?? 50)).map(summary),
  );

  app.get<RunParams>(
    "/api/runs/:run",
    { schema: { summary: "A run: its steps, what it waits for, its outcome", tags: ["runs"], params: RUN } },
    async (r) => findRun(control, r.params.run),
  );

  app.get<RunParams & { Querystring: { after?: number } }>(
    "/api/runs/:run/events",
    {
      schema: {
        summary: "A run's events, in order (after a seq, when given)",
        tags: ["runs"],
        params: RUN,
        querystring: { type: "object", properties: { after: { type: "integer", minimum: 0 } } },
      },
    },
    async (r) => {
      const events = await runLog(control, r.params.run);
      const after = r.query.after ?? 0;
      return events.filter((e) => e.seq > after);
    },
  );

  app.get<RunParams>(
    "/api/runs/:run/permissions",
    {
      schema: {
        summary: "What the token's identity may do to the run now, and why not",
        tags: ["runs"],
        params: RUN,
      },
    },
    async (r) => permissionsOf(await findRun(control, r.params.run), who(r)),
  );

  app.get<RunParams>(
    "/api/runs/:run/audit",
    {
      schema: {
        summary: "Whether the run's hash-chained log is intact (gantry audit verify RUN)",
        tags: ["runs"],
        params: RUN,
      },
    },
    async (r) => verifyAudit(control, { run: r.params.run }),
  );

  app.get<RunParams>(
    "/api/runs/:run/schedule",
    { schema: { summary: "A run's schedule: done, due, overdue, upcoming", tags: ["runs"], params: RUN } },
    async (r) => scheduleOf(control, r.params.run),
  );

  app.get<RunParams>(
    "/api/runs/:run/stream",
    {
      schema: {
        summary: "A run's events live (Server-Sent Events; Last-Event-ID resumes after a seq)",
        tags: ["runs"],
        params: RUN,
      },
    },
    async (r, reply) => {
      await findRun(control, r.params.run);
      const last = Number(r.headers["last-event-id"] ?? 0);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        connection: "keep-alive",
        "x-content-type-options": "nosniff",
      });
      res.write(": gantry events\n\n");
      const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
      // One write per batch: a page that opens a long run gets its backlog at once.
      const stop = hub.follow(r.params.run, Number.isFinite(last) ? last : 0, (events) => {
        res.write(
          events.map((e) => `id: ${e.seq}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`).join(""),
        );
      });
      r.raw.on("close", () => {
        clearInterval(heartbeat);
        stop();
      });
    },
  );

  app.post<RunParams & { Body: { comment?: string; role?: string; choice?: string } }>(
    "/api/runs/:run/approve",
    {
      schema: {
        summary: "Approve what the run waits for (decision, confirmation, checklist, pause)",
        tags: ["actions"],
        params: RUN,
        body: body({ comment: TEXT, role: ROLE, choice: ROLE }),
      },
    },
    async (r) => {
      const { comment, role, choice } = r.body ?? {};
      return answer(control, r.params.run, who(r), {
        ...(comment ? { comment } : {}),
        ...(role ? { role } : {}),
        ...(choice ? { choice } : {}),
      });
    },
  );

  app.post<RunParams & { Body: { reason?: string; role?: string } }>(
    "/api/runs/:run/reject",
    {
      schema: {
        summary: "Reject what the run waits for, with a reason",
        tags: ["actions"],
        params: RUN,
        body: body({ reason: TEXT, role: ROLE }),
      },
    },
    async (r) => {
      const { reason, role } = r.body ?? {};
      return answer(control, r.params.run, who(r), {
        reject: true,
        ...(reason ? { reason } : {}),
        ...(role ? { role } : {}),
      });
    },
  );

  app.post<{ Params: { run: string; name: string; item: number }; Body: { comment?: string } }>(
    "/api/runs/:run/checklists/:name/items/:item",
    {
      schema: {
        summary: "Sign off one item of the checklist the run waits for",
        tags: ["actions"],
        params: {
          type: "object",
          required: ["run", "name", "item"],
          properties: { run: RUN.properties.run, name: ROLE, item: { type: "integer", minimum: 1 } },
        },
        body: body({ comment: TEXT }),
      },
    },
    async (r) => markItem(control, r.params.run, who(r), r.params.name, r.params.item, r.body?.comment),
  );

  app.post<RunParams>(
    "/api/runs/:run/ack",
    {
      schema: { summary: "Acknowledge the incident the run is timing", tags: ["actions"], params: RUN },
    },
    async (r) => acknowledge(control, r.params.run, who(r)),
  );

  app.post<RunParams & { Body: { reason: string } }>(
    "/api/runs/:run/override",
    {
      schema: {
        summary: "Override the closed window or freeze the run waits at, with a reason",
        tags: ["actions"],
        params: RUN,
        body: body({ reason: TEXT }, ["reason"]),
      },
    },
    async (r) => overrideWindow(control, r.params.run, who(r), r.body.reason),
  );

  app.post<RunParams & { Body: { to: string; note?: string } }>(
    "/api/runs/:run/handoff",
    {
      schema: {
        summary: "Hand the incident command over to someone",
        tags: ["actions"],
        params: RUN,
        body: body({ to: ROLE, note: TEXT }, ["to"]),
      },
    },
    async (r) => handoff(control, r.params.run, who(r), r.body.to, r.body.note ? { note: r.body.note } : {}),
  );

  app.post<RunParams & { Body: { reason: string } }>(
    "/api/runs/:run/rollback",
    {
      schema: {
        summary: "Roll the run back (rollback.approval's role; its count of different members)",
        tags: ["actions"],
        params: RUN,
        body: body({ reason: TEXT }, ["reason"]),
      },
    },
    async (r) => requestRollback(control, r.params.run, who(r), r.body.reason),
  );

  app.post<RunParams & { Body: { reason?: string } }>(
    "/api/runs/:run/abort",
    {
      schema: {
        summary: "Stop the run for good",
        tags: ["actions"],
        params: RUN,
        body: body({ reason: TEXT }),
      },
    },
    async (r) => abort(control, r.params.run, who(r), r.body?.reason),
  );
}
