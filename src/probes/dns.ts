/**
 * The dns probe: asks a resolver (`server`, else the system's) for a name's records of one
 * type and checks that every `expect` entry is among the answers. The value is the answers,
 * joined with ", ": addresses (A, AAAA), names (CNAME, NS, MX exchanges by priority), texts
 * (TXT, each record's chunks joined).
 *
 * Verdicts: a name that does not exist (NXDOMAIN) or has no records of the type is `failed`,
 * as is an expected record that is missing: the resolver answered. No answer (timeout,
 * refused), a resolver in trouble (SERVFAIL, REFUSED), an answer that is not DNS, a bad name
 * or server and cancellation are `error`. Names compare case-insensitively and without a
 * trailing dot; TXT values compare exactly.
 */
import { Resolver } from "node:dns/promises";
import type { Probe } from "../runbook/schema/probes.js";
import { bounded, errorText, guard, type Outcome } from "./shared.js";
import type { ProbeContext, ProbeImplementation } from "./types.js";

type DnsSpec = Extract<Probe, { type: "dns" }>;
type RecordType = DnsSpec["record"];

export const dnsProbe: ProbeImplementation<"dns"> = {
  type: "dns",
  measure: (spec, context) => guard("dns", context, () => measureDns(spec, context ?? {})),
};

const LOOKUPS: Record<RecordType, (r: Resolver, name: string) => Promise<string[]>> = {
  A: (r, name) => r.resolve4(name),
  AAAA: (r, name) => r.resolve6(name),
  CNAME: (r, name) => r.resolveCname(name),
  NS: (r, name) => r.resolveNs(name),
  TXT: async (r, name) => (await r.resolveTxt(name)).map((chunks) => chunks.join("")),
  MX: async (r, name) =>
    (await r.resolveMx(name)).sort((a, b) => a.priority - b.priority).map((mx) => mx.exchange),
};

/** Answers that are not a measured fact about the name: the resolver could not say. */
const RESOLVER_TROUBLE: Record<string, string> = {
  ECONNREFUSED: "connection refused (is a DNS server listening there?)",
  ESERVFAIL: "the server failed to answer (SERVFAIL)",
  EREFUSED: "the server refused the query (REFUSED)",
  EFORMERR: "the server could not read the query (FORMERR)",
  ENOTIMP: "the server does not implement this query (NOTIMP)",
  EBADRESP: "the answer is not valid DNS",
  EBADNAME: "not a valid DNS name",
  ECANCELLED: "cancelled",
};

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

async function measureDns(spec: DnsSpec, context: ProbeContext): Promise<Outcome> {
  const problem = specProblem(spec);
  if (problem) return { phase: "error", message: problem };
  const what = `${spec.name} ${spec.record}${spec.server ? ` via ${spec.server}` : ""}`;
  const resolver = new Resolver({
    timeout: Math.min(Math.max(spec.timeout.ms, 1), MAX_TIMEOUT_MS),
    tries: 1,
  });
  if (spec.server) {
    try {
      resolver.setServers([spec.server]);
    } catch {
      return {
        phase: "error",
        message: `bad server ${JSON.stringify(spec.server)}: give an IP address with an optional port, e.g. 10.0.0.2, 10.0.0.2:5353 or [fd00::2]:53`,
      };
    }
  }
  return bounded(spec.timeout, context.signal, what, async (signal) => {
    signal.addEventListener("abort", () => resolver.cancel(), { once: true });
    let answers: string[];
    try {
      answers = await LOOKUPS[spec.record](resolver, spec.name);
    } catch (err) {
      return notResolved(spec, what, err);
    }
    return judgeAnswers(spec, what, answers);
  });
}

function specProblem(spec: DnsSpec): string | undefined {
  if (typeof spec.name !== "string" || spec.name.trim() === "" || /\s/.test(spec.name)) {
    return `bad name ${JSON.stringify(spec.name)}: give a DNS name, e.g. api.example.com`;
  }
  if (typeof spec.record !== "string" || !Object.hasOwn(LOOKUPS, spec.record)) {
    return `bad record type ${JSON.stringify(spec.record)}: use one of ${Object.keys(LOOKUPS).join(", ")}`;
  }
  if (
    spec.expect !== undefined &&
    (!Array.isArray(spec.expect) || spec.expect.some((e) => typeof e !== "string"))
  ) {
    return "bad expect: give a list of records, e.g. [10.0.0.1]";
  }
  if (spec.server !== undefined && typeof spec.server !== "string") {
    return "bad server: give an IP address with an optional port, e.g. 10.0.0.2:5353";
  }
  return undefined;
}

function notResolved(spec: DnsSpec, what: string, err: unknown): Outcome {
  const code = String((err as { code?: unknown }).code ?? "");
  const detail = { record: spec.record, answers: [], code };
  if (code === "ENOTFOUND") {
    return { phase: "failed", message: `${what}: the name does not exist (NXDOMAIN)`, detail };
  }
  if (code === "ENODATA") {
    return { phase: "failed", message: `${what}: the name has no ${spec.record} records`, detail };
  }
  if (code === "ETIMEOUT") {
    return { phase: "error", message: `${what}: timed out after ${spec.timeout.text}`, detail };
  }
  const said = RESOLVER_TROUBLE[code] ?? (code ? `${code}: ${errorText(err)}` : errorText(err));
  return { phase: "error", message: `${what}: ${said}`, detail };
}

function judgeAnswers(spec: DnsSpec, what: string, answers: string[]): Outcome {
  const value = answers.join(", ");
  const detail = { record: spec.record, answers };
  const said = `${what} → ${answers.length > 0 ? value : "no answers"}`;
  if (!spec.expect || spec.expect.length === 0) return { phase: "successful", value, message: said, detail };
  const key = (s: string) => (spec.record === "TXT" ? s : s.toLowerCase().replace(/\.$/, ""));
  const found = new Set(answers.map(key));
  const missing = spec.expect.filter((e) => !found.has(key(e)));
  if (missing.length === 0) {
    return { phase: "successful", value, message: `${said} (expected ${spec.expect.join(", ")})`, detail };
  }
  return { phase: "failed", value, message: `${said}; missing ${missing.join(", ")}`, detail };
}
