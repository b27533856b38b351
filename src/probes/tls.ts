/**
 * The tls probe: completes a TLS handshake with host:port and judges what the server showed.
 * The value is the number of whole days until the certificate expires (negative once expired).
 *
 * Verdicts: `failed` when the certificate expires in fewer than `minDays` days (or has expired,
 * or is not valid yet), does not cover the name asked for (`servername`, else `host`), does
 * not chain to a trusted CA (the system's roots, plus `ca` when given), or the negotiated
 * protocol is not in `protocols`; the message names every problem found. `error` when there
 * was no handshake to judge: refused, timed out, cancelled, a server that does not speak TLS,
 * a bad host or an unreadable `ca` file.
 *
 * The handshake never rejects an unacceptable certificate itself, so all of it can be reported.
 * The client offers TLSv1 to TLSv1.3 (as far as OpenSSL allows) and the server picks; this
 * checks the version it picks, not that older versions are refused.
 */
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import path from "node:path";
import {
  checkServerIdentity,
  createSecureContext,
  type DetailedPeerCertificate,
  type PeerCertificate,
  rootCertificates,
  type SecureContext,
  connect as tlsConnect,
} from "node:tls";
import type { Probe } from "../runbook/schema/probes.js";
import { bounded, errorText, guard, networkProblem, type Outcome } from "./shared.js";
import { bare, hostPort, hostProblem, portProblem } from "./tcp.js";
import type { ProbeContext, ProbeImplementation } from "./types.js";

type TlsSpec = Extract<Probe, { type: "tls" }>;

const DAY = 24 * 60 * 60 * 1000;
const PROTOCOLS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

export const tlsProbe: ProbeImplementation<"tls"> = {
  type: "tls",
  measure: (spec, context) => guard("tls", context, () => measureTls(spec, context ?? {})),
};

interface Handshake {
  cert: PeerCertificate;
  protocol: string | null;
  authorized: boolean;
  authorizationError?: string;
}

async function measureTls(spec: TlsSpec, context: ProbeContext): Promise<Outcome> {
  // A `port` template has been rendered by now: digits are the port.
  const port = typeof spec.port === "string" && /^\s*\d+\s*$/.test(spec.port) ? Number(spec.port) : spec.port;
  const problem =
    hostProblem(spec.host) ??
    portProblem(port) ??
    (spec.servername === undefined ? undefined : hostProblem(spec.servername, "servername")) ??
    settingsProblem(spec);
  if (problem) return { phase: "error", message: problem };
  const host = bare(spec.host);
  const name = bare(spec.servername ?? spec.host);
  const where = hostPort(host, port as number);
  let trust: SecureContext | undefined;
  if (spec.ca !== undefined) {
    const pem = await readCa(spec.ca, context.dir);
    if (!pem.ok) return { phase: "error", message: pem.problem };
    trust = trusting(pem.text);
  }
  return bounded(spec.timeout, context.signal, `TLS handshake with ${where}`, async (signal) => {
    const shook = await handshake(host, port as number, name, trust, signal);
    return "problem" in shook
      ? { phase: "error", message: `TLS handshake with ${where}: ${shook.problem}` }
      : verdict(spec, where, name, shook);
  });
}

function settingsProblem(spec: TlsSpec): string | undefined {
  if (typeof spec.minDays !== "number" || !Number.isInteger(spec.minDays) || spec.minDays < 0) {
    return `bad minDays ${JSON.stringify(spec.minDays)}: give a whole number of days`;
  }
  const protocols: unknown = spec.protocols;
  if (!Array.isArray(protocols) || protocols.length === 0 || protocols.some((p) => !PROTOCOLS.includes(p))) {
    return `bad protocols ${JSON.stringify(protocols)}: list some of ${PROTOCOLS.join(", ")}`;
  }
  if (spec.ca !== undefined && typeof spec.ca !== "string") return "bad ca: give the path of a PEM file";
  return undefined;
}

async function readCa(
  file: string,
  dir: string | undefined,
): Promise<{ ok: true; text: string } | { ok: false; problem: string }> {
  let text: string;
  try {
    text = await readFile(path.resolve(dir ?? ".", file), "utf8");
  } catch (err) {
    return { ok: false, problem: `cannot read the CA file ${file}: ${errorText(err)}` };
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    return {
      ok: false,
      problem: `the CA file ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    };
  }
  return { ok: true, text };
}

/**
 * A context trusting the system's roots and the CA file's certificates, kept per file content:
 * building one parses every root certificate, which takes long enough to matter.
 */
const contexts = new Map<string, SecureContext>();

function trusting(pem: string): SecureContext {
  let context = contexts.get(pem);
  if (!context) {
    context = createSecureContext({ ca: [...rootCertificates, pem], minVersion: "TLSv1" });
    contexts.set(pem, context);
  }
  return context;
}

function handshake(
  host: string,
  port: number,
  name: string,
  trust: SecureContext | undefined,
  signal: AbortSignal,
): Promise<Handshake | { problem: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port,
      // SNI carries names only (RFC 6066), never an IP address.
      ...(isIP(name) ? {} : { servername: name }),
      ...(trust ? { secureContext: trust } : { minVersion: "TLSv1" }),
      rejectUnauthorized: false,
    });
    signal.addEventListener("abort", () => socket.destroy(), { once: true });
    socket.once("secureConnect", () => {
      const result: Handshake = {
        cert: socket.getPeerCertificate(),
        protocol: socket.getProtocol(),
        authorized: socket.authorized,
      };
      const why = socket.authorizationError as unknown;
      if (why !== undefined && why !== null) {
        result.authorizationError =
          why instanceof Error ? ((why as { code?: string }).code ?? why.message) : String(why);
      }
      socket.destroy();
      resolve(result);
    });
    socket.once("error", (err) => {
      socket.destroy();
      resolve({ problem: handshakeProblem(err) });
    });
    socket.once("close", () => resolve({ problem: "the server closed the connection during the handshake" }));
  });
}

function handshakeProblem(err: unknown): string {
  const code = String((err as { code?: unknown }).code ?? "");
  if (code.startsWith("ERR_SSL_")) {
    const reason = code.slice("ERR_SSL_".length).toLowerCase().replaceAll("_", " ");
    return `${reason} (is this a TLS port?)`;
  }
  if (code === "ECONNRESET") return "connection closed by the server (is this a TLS port?)";
  return networkProblem(err);
}

/** Judges a completed handshake against the spec. */
function verdict(spec: TlsSpec, where: string, name: string, shook: Handshake): Outcome {
  const { cert } = shook;
  if (!cert || Object.keys(cert).length === 0) {
    return { phase: "error", message: `${where} sent no certificate` };
  }
  const validTo = new Date(cert.valid_to);
  const validFrom = new Date(cert.valid_from);
  if (Number.isNaN(validTo.getTime()) || Number.isNaN(validFrom.getTime())) {
    return { phase: "error", message: `${where}: cannot read the certificate's validity (${cert.valid_to})` };
  }
  const now = Date.now();
  const daysLeft = Math.floor((validTo.getTime() - now) / DAY);
  const altNames = (cert.subjectaltname ?? "").split(", ").filter((n) => n !== "");
  const covered = altNames.map((n) => n.replace(/^(DNS|IP Address):/, ""));
  const subject = first(cert.subject?.CN) ?? covered[0] ?? "(no name)";

  const expiry =
    daysLeft < 0
      ? `expired ${day(validTo)} (${-daysLeft} ${plural(-daysLeft, "day")} ago)`
      : `expires in ${daysLeft} ${plural(daysLeft, "day")} (${day(validTo)})`;
  const problems: string[] = [];
  if (validFrom.getTime() > now) problems.push(`not valid before ${day(validFrom)}`);
  const mismatch = checkServerIdentity(name, cert as DetailedPeerCertificate);
  if (mismatch) {
    const names = covered.length > 0 ? covered.join(", ") : `CN ${subject}`;
    problems.push(`hostname mismatch: ${name} is not covered (the certificate is for ${names})`);
  }
  const chain = chainProblem(shook);
  if (chain) problems.push(chain);
  if (!shook.protocol || !spec.protocols.includes(shook.protocol as TlsSpec["protocols"][number])) {
    problems.push(`protocol ${shook.protocol ?? "unknown"}, expected ${spec.protocols.join(" or ")}`);
  }

  const detail: Record<string, unknown> = {
    daysLeft,
    validTo: validTo.toISOString(),
    subject: dn(cert.subject),
    issuer: dn(cert.issuer),
    altNames,
    protocol: shook.protocol,
    authorized: shook.authorized,
  };
  if (shook.authorizationError) detail.authorizationError = shook.authorizationError;
  const head = `${where} certificate for ${subject} ${expiry}, minimum ${spec.minDays}`;
  const failed = daysLeft < spec.minDays || problems.length > 0;
  const tail = failed ? problems : [`${shook.protocol}, trusted chain`];
  const message = [head, ...tail].join("; ");
  return { phase: failed ? "failed" : "successful", value: daysLeft, message, detail };
}

/** What OpenSSL found wrong with the chain; dates and names are judged on their own. */
const CHAIN_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in the chain",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "issuer not trusted (a missing intermediate, or a private CA: set ca)",
  UNABLE_TO_GET_ISSUER_CERT: "issuer certificate not found",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "issuer not trusted (a missing intermediate, or a private CA: set ca)",
  CERT_SIGNATURE_FAILURE: "bad certificate signature",
  CERT_REVOKED: "certificate revoked",
  CERT_UNTRUSTED: "certificate not trusted",
  INVALID_CA: "an issuer in the chain is not a CA",
};
const JUDGED_ELSEWHERE = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "ERR_TLS_CERT_ALTNAME_INVALID"]);

function chainProblem(shook: Handshake): string | undefined {
  const code = shook.authorizationError;
  if (shook.authorized || !code || JUDGED_ELSEWHERE.has(code)) return undefined;
  const said = CHAIN_ERRORS[code];
  return `untrusted chain: ${said ? `${said} (${code})` : code}`;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `CN=app.example.com, O=Example`. */
function dn(name: object | undefined): string {
  return Object.entries(name ?? {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`)
    .join(", ");
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
