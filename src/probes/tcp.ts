/**
 * The tcp probe: connects to host:port and closes the connection at once. The value is the
 * connect time in ms, name lookup included.
 *
 * Verdicts: a refused connection is `failed`: the host answered that nothing accepts
 * connections on that port, which is what this probe measures. No answer within the timeout
 * (a firewall dropping packets, a host that is down or a full accept queue), an unreachable
 * network, a name that does not resolve, a bad host and cancellation are `error`: nothing
 * was measured.
 */
import { isIP, connect as netConnect, type Socket } from "node:net";
import type { Probe } from "../runbook/schema/probes.js";
import { bounded, guard, networkProblem, type Outcome } from "./shared.js";
import type { ProbeContext, ProbeImplementation } from "./types.js";

type TcpSpec = Extract<Probe, { type: "tcp" }>;

export const tcpProbe: ProbeImplementation<"tcp"> = {
  type: "tcp",
  measure: (spec, context) => guard("tcp", context, () => measureTcp(spec, context ?? {})),
};

async function measureTcp(spec: TcpSpec, context: ProbeContext): Promise<Outcome> {
  const problem = hostProblem(spec.host) ?? portProblem(spec.port);
  if (problem) return { phase: "error", message: problem };
  const host = bare(spec.host);
  const where = hostPort(host, spec.port);
  return bounded(spec.timeout, context.signal, `connect to ${where}`, (signal) =>
    connect(host, spec.port, where, signal),
  );
}

function connect(host: string, port: number, where: string, signal: AbortSignal): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    let lookupMs: number | undefined;
    const socket: Socket = netConnect({ host, port });
    signal.addEventListener("abort", () => socket.destroy(), { once: true });
    socket.once("lookup", () => {
      lookupMs = Math.round(performance.now() - started);
    });
    socket.once("connect", () => {
      const ms = Math.round(performance.now() - started);
      const detail: Record<string, unknown> = { connectMs: ms, address: socket.remoteAddress };
      if (lookupMs !== undefined) detail.lookupMs = lookupMs;
      socket.destroy();
      resolve({
        phase: "successful",
        value: ms,
        message: `${where} accepted the connection in ${ms} ms`,
        detail,
      });
    });
    socket.once("error", (err) => {
      socket.destroy();
      if (refused(err)) resolve({ phase: "failed", message: `${where} refused the connection` });
      else resolve({ phase: "error", message: `connect to ${where}: ${networkProblem(err)}` });
    });
  });
}

/** A refused connection; with several addresses for a name (IPv4 and IPv6), all refused. */
function refused(err: unknown): boolean {
  const errors = (err as { errors?: unknown }).errors;
  const all = Array.isArray(errors) && errors.length > 0 ? errors : [err];
  return all.every((e) => (e as { code?: unknown } | undefined)?.code === "ECONNREFUSED");
}

// ---------------------------------------------------------------------------------------
// Hosts and ports, shared with the tls probe

const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`, "i");

/** `[::1]` → `::1`; other hosts as they are. */
export function bare(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Why `host` is not a host name or IP address, or undefined. Checked before any lookup. */
export function hostProblem(host: unknown, field = "host"): string | undefined {
  if (typeof host !== "string" || host === "") return `give a ${field}: a name or an IP address`;
  if (isIP(bare(host)) || HOSTNAME.test(host)) return undefined;
  return `bad ${field} ${JSON.stringify(host)}: give a name or an IP address, without scheme, port or path (the port goes in port:)`;
}

export function portProblem(port: unknown): string | undefined {
  if (typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535) return undefined;
  return `bad port ${JSON.stringify(port)}: give a number from 1 to 65535`;
}

/** `db.internal:5432`, `[::1]:443`. */
export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
