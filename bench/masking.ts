/**
 * Masking figures for `npm run bench`: the cost per output line of redacting with 20
 * secrets registered (tokens, passwords, database URLs, a JWT, a PEM key), over typical log
 * lines of 80–120 characters of which 1 in 100 holds a secret in some form; the same over
 * lines that all hold one; and building the masker. In process, median of 7 passes.
 */
import { performance } from "node:perf_hooks";
import { redactor } from "../src/secrets/secrets.js";
import type { Row } from "./engine.js";

const GOAL_US = 20;
const COMMAND =
  "npm run build && node -e \"import('./dist/bench/masking.js').then(m => console.log(m.maskingRows()))\"";

/** A small deterministic generator, so every run measures the same lines. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function token(rand: () => number, length: number, alphabet = ALNUM): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(rand() * alphabet.length)];
  return out;
}

/** Twenty secrets of the kinds runbooks hold. */
export function benchSecrets(rand = random(1)): string[] {
  const hex = "0123456789abcdef";
  return [
    `sk_live_${token(rand, 24)}`,
    `sk_test_${token(rand, 24)}`,
    `whsec_${token(rand, 32)}`,
    `ghp_${token(rand, 36)}`,
    `xoxb-${token(rand, 12, "0123456789")}-${token(rand, 24)}`,
    `AKIA${token(rand, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}`,
    token(rand, 40, `${ALNUM}+/`),
    `phc_${token(rand, 43)}`,
    `postgres://app:${token(rand, 20)}%21x@db.internal:5432/shop`,
    `postgresql://migrator:${token(rand, 16)}@10.0.3.7:5432/shop?sslmode=require`,
    `redis://:${token(rand, 24)}@cache.internal:6379/0`,
    "hunter2hunter2",
    "correct horse battery staple",
    `Tr0ub4dor&${token(rand, 4)}`,
    token(rand, 64, hex),
    token(rand, 32, hex),
    `eyJhbGciOiJIUzI1NiJ9.${token(rand, 60, `${ALNUM}-_`)}.${token(rand, 43, `${ALNUM}-_`)}`,
    `sntrys_${token(rand, 48)}`,
    `-----BEGIN PRIVATE KEY-----\n${token(rand, 64, `${ALNUM}+/`)}\n${token(rand, 64, `${ALNUM}+/`)}\n-----END PRIVATE KEY-----`,
    `sk-proj-${token(rand, 48, `${ALNUM}-_`)}`,
  ];
}

const WORDS = [
  "deploy",
  "released",
  "migration",
  "applied",
  "checking",
  "health",
  "ok",
  "GET",
  "POST",
  "/api/v1/orders",
  "status=200",
  "latency_ms=12",
  "db.internal:5432",
  "localhost",
  "example.com",
  "password",
  "rows=1204",
  "version=2.4.1",
  "connection",
  "pool",
  "warming",
  "cache",
  "user=app",
  "request_id=9f3b2c1a",
  "INFO",
  "WARN",
  "shop",
  "region=us-east-1",
];

/** A log line of 80–120 characters; `secret`, when given, appears in it once. */
function line(rand: () => number, secret?: string): string {
  const target = 80 + Math.floor(rand() * 41);
  let out = `2025-10-07T14:${String(Math.floor(rand() * 60)).padStart(2, "0")}:07.123Z`;
  const insertAt = secret ? 1 + Math.floor(rand() * 4) : -1;
  for (let n = 0; out.length < target; n++) {
    out += ` ${n === insertAt ? secret : WORDS[Math.floor(rand() * WORDS.length)]}`;
  }
  return out;
}

/** A token or a URL's password, in one of the forms it takes on the way out. */
function leaked(rand: () => number, secrets: string[]): string {
  const tokens = secrets
    .map((v) => /^[a-z]+:\/\/[^:]*:([^@]+)@/.exec(v)?.[1] ?? v)
    .filter((v) => !/\s/.test(v) && v !== "hunter2hunter2");
  const s = tokens[Math.floor(rand() * tokens.length)]!;
  const forms = [
    s,
    Buffer.from(`user:${s}`).toString("base64"),
    encodeURIComponent(s),
    JSON.stringify({ token: s }),
    s.toUpperCase(),
    s.slice(3, 15),
  ];
  return forms[Math.floor(rand() * forms.length)]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Microseconds per line: median of `passes` passes over all the lines. */
function perLine(redact: (text: string) => string, lines: string[], passes: number): number {
  let sink = 0;
  for (const l of lines) sink += redact(l).length; // warm up
  const times: number[] = [];
  for (let p = 0; p < passes; p++) {
    const t = performance.now();
    for (const l of lines) sink += redact(l).length;
    times.push(((performance.now() - t) * 1000) / lines.length);
  }
  if (sink < 0) throw new Error("unreachable");
  return median(times);
}

function verdict(us: number): string {
  return `${us.toFixed(2)} µs/line — ${us <= GOAL_US ? "met" : "missed"}`;
}

export function maskingRows(): Row[] {
  const rand = random(7);
  const secrets = benchSecrets();
  const buildTimes: number[] = [];
  let redact = redactor(secrets);
  for (let i = 0; i < 21; i++) {
    const t = performance.now();
    redact = redactor(secrets);
    redact(""); // the tables are built on first use
    buildTimes.push(performance.now() - t);
  }
  const typical = Array.from({ length: 20_000 }, (_, i) =>
    line(rand, i % 100 === 0 ? leaked(rand, secrets) : undefined),
  );
  const withSecret = Array.from({ length: 5_000 }, () => line(rand, leaked(rand, secrets)));
  const unmasked = withSecret.filter((l) => !redact(l).includes("•••")).length;
  const avg = Math.round(typical.reduce((n, l) => n + l.length, 0) / typical.length);
  return [
    [
      `masking per output line, 20 secrets, ${avg}-char log lines, 1 in 100 with a secret (median of 7 × 20,000)`,
      verdict(perLine(redact, typical, 7)),
      `≤ ${GOAL_US} µs`,
      COMMAND,
    ],
    [
      `masking per output line, 20 secrets, every line holding one (raw, base64, URL, JSON, upper case, a piece)${unmasked ? `; ${unmasked} not masked` : ""}`,
      verdict(perLine(redact, withSecret, 7)),
      `≤ ${GOAL_US} µs`,
      COMMAND,
    ],
    [
      "building the masker for 20 secrets (on first use, once per run; median of 21)",
      `${median(buildTimes).toFixed(2)} ms`,
      "printed",
      COMMAND,
    ],
  ];
}
