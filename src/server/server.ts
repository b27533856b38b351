/**
 * `gantry server`: the HTTP API over the application layer (Fastify). Every route needs a
 * token; every action goes through the same rules as the CLI. Secure headers on every answer;
 * clients whose requests keep failing are slowed with 429 and Retry-After, and every client
 * is held to a request rate. Binds 127.0.0.1 unless told otherwise.
 */
import { createRequire } from "node:module";
import path from "node:path";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import fastifyStatic from "@fastify/static";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance } from "fastify";
import { Refusal } from "../app/refusal.js";
import type { Control } from "../engine/control.js";
import { packageRoot } from "../paths.js";
import { countIdentities } from "../store/identities.js";
import { VERSION } from "../version.js";
import { authenticate, FailureLimiter, limited } from "./auth.js";
import { answerError } from "./refusals.js";
import { registerRoutes } from "./routes.js";
import { EventHub } from "./stream.js";

export interface ServerOptions {
  /** Failed requests a client address may make per minute before it gets 429 (default 30). */
  maxFailures?: number;
  /** Requests a client address may make per minute (default 1200). */
  maxRequests?: number;
  /** The runbook files POST /api/releases may start. */
  runbooks?: string[];
}

export interface GantryServer {
  app: FastifyInstance;
  hub: EventHub;
  close(): Promise<void>;
}

export async function buildServer(control: Control, options: ServerOptions = {}): Promise<GantryServer> {
  if ((await countIdentities(control.db.pool)) === 0) {
    throw new Refusal(
      "unauthenticated",
      "the server needs identities: every request proves who sends it with a token, and this database has none",
      ["Make the first one (an administrator) with: gantry users add YOUR-NAME"],
    );
  }
  const hub = new EventHub(control.store, control.db.url);
  await hub.start();
  const app = await buildApi(control, hub, options);
  return {
    app,
    hub,
    close: async () => {
      await hub.close();
      await app.close();
    },
  };
}

/**
 * The API itself. It touches the database only when a request comes, so `npm run openapi`
 * builds it without one to write docs/openapi.json.
 */
export async function buildApi(
  control: Control,
  hub: EventHub,
  options: ServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: 256 * 1024,
    trustProxy: false,
    // A field the route does not know (a typo) is an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  });
  const failures = new FailureLimiter(options.maxFailures ?? 30);

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        frameAncestors: ["'none'"],
        // Served over plain HTTP on loopback by default: nothing to upgrade to.
        upgradeInsecureRequests: null,
      },
    },
  });
  await app.register(rateLimit, { max: options.maxRequests ?? 1200, timeWindow: "1 minute" });
  await app.register(swagger, {
    openapi: {
      info: {
        title: "Gantry",
        version: VERSION,
        description: "Gantry's HTTP API: runs, their events, and the actions people take on them.",
      },
      components: {
        securitySchemes: {
          token: { type: "http", scheme: "bearer", description: "A Gantry token (gantry users token NAME)" },
        },
      },
      security: [{ token: [] }],
    },
  });

  // The dashboard's files hold no data: they load without a token, and ask for one.
  await app.register(fastifyStatic, { root: path.join(packageRoot(), "dashboard"), prefix: "/" });
  await app.register(fastifyStatic, {
    root: path.dirname(createRequire(import.meta.url).resolve("uplot")),
    prefix: "/vendor/uplot/",
    decorateReply: false,
  });

  app.decorateRequest("identity", null as never);
  app.addHook("onRequest", async (request, reply) => {
    if (limited(failures, request, reply)) return reply;
    if (!request.url.startsWith("/api/")) return;
    try {
      request.identity = await authenticate(control.db.pool, request);
    } catch (e) {
      if (answerError(e, reply)) return reply;
      throw e;
    }
  });
  app.addHook("onResponse", async (request, reply) => {
    if (reply.statusCode === 401 || reply.statusCode === 403) failures.failed(request.ip);
  });
  app.setErrorHandler((thrown, _request, reply) => {
    const error = thrown as Error & { validation?: unknown; statusCode?: number };
    if (answerError(error, reply)) return;
    if (error.validation) {
      void reply.code(400).send({ error: error.message, kind: "usage", hints: [] });
      return;
    }
    const status = error.statusCode;
    if (status && status < 500) {
      const kind = status === 429 ? "rate-limited" : "request";
      void reply.code(status).send({ error: error.message, kind, hints: [] });
      return;
    }
    void reply
      .code(500)
      .send({ error: "the server failed to answer; see its output", kind: "internal", hints: [] });
    process.stderr.write(`gantry server: ${error.stack ?? error.message}\n`);
  });

  registerRoutes(app, control, hub, options.runbooks ?? []);
  app.get("/api/openapi.json", { schema: { summary: "This API, as OpenAPI 3", tags: ["api"] } }, async () =>
    app.swagger(),
  );
  await app.ready();
  return app;
}
