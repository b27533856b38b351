/**
 * `gantry server [--host 127.0.0.1] [--port 7310]`: serves the HTTP API until stopped
 * (docs/server.md). It needs identities on the database: every request carries a token.
 */
import fs from "node:fs";
import { openControl } from "../engine/control.js";
import { UsageError } from "../errors.js";
import { buildServer } from "../server/server.js";
import type { DatabaseOptions } from "../store/database.js";
import { openForVerb } from "./executor.js";
import { err, out } from "./output.js";

export interface ServerCommandOptions extends DatabaseOptions {
  host: string;
  port: string;
  maxFailures?: string;
  maxRequests?: string;
  runbook?: string[];
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export async function server(options: ServerCommandOptions): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port: ${options.port} is not a port (0–65535; 0 picks a free one)`);
  const maxFailures = count("--max-failures", options.maxFailures);
  const maxRequests = count("--max-requests", options.maxRequests);
  for (const file of options.runbook ?? [])
    if (!fs.existsSync(file)) throw new UsageError(`--runbook: ${file}: no such file`);
  const control = await openForVerb(() => openControl(options));
  let served: Awaited<ReturnType<typeof buildServer>>;
  try {
    served = await buildServer(control, {
      ...(maxFailures === undefined ? {} : { maxFailures }),
      ...(maxRequests === undefined ? {} : { maxRequests }),
      runbooks: options.runbook ?? [],
    });
  } catch (e) {
    await control.close();
    throw e;
  }
  const address = await served.app.listen({ host: options.host, port });
  out(`gantry server listening on ${address} (API under /api; OpenAPI at ${address}/api/openapi.json)`);
  if (!LOOPBACK.has(options.host))
    err(
      `gantry server: listening on ${options.host}, beyond this machine: put it behind TLS (a reverse proxy), tokens travel in every request`,
    );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await served.close();
  await control.close();
}

function count(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: ${text} is not a whole number above 0`);
  return n;
}
