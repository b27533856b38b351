/**
 * The quickstart, end to end: `npm run quickstart`.
 *
 * Releases the quickstart service three times on the embedded default (.gantry/):
 *   v1.0.0  a healthy first version                  → released
 *   v2.0.0  a defect a few seconds after it starts   → rolled back to 1.0.0 on its own
 *   v3.0.0  the fix                                  → released
 * then stops the service it started. Exits 0 when the three outcomes are as above.
 *
 * The service listens on 127.0.0.1:18080. When another program holds that port, the
 * quickstart picks a free one and releases a copy of the runbook that uses it (written to
 * <data folder>/quickstart/). QUICKSTART_PORT=8181 npm run quickstart asks for a port.
 *
 * `npm run quickstart -- --canary` releases the same versions through canary steps
 * (10% → 50% → 100%, behind Gantry's weighted proxy on the service's port): v2 is caught at
 * its first step, v3 is promoted.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { show, startInbox } from "./inbox.mjs";

const DEFAULT_PORT = 18080;
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const bin = path.join(root, "bin/gantry.js");
const dataDir = process.env.GANTRY_DATA_DIR ?? path.join(root, ".gantry");
const processFile = path.join(dataDir, "services/quickstart/local/process.json");

const CANARY = `  canary:
    - { weight: 10%, hold: 5s, checks: [ready] }
    - { weight: 50%, hold: 3s, checks: [health] }
    - { weight: 100% }
`;
const canary = process.argv.includes("--canary");
const port = await choosePort();
const runbook = path.relative(process.cwd(), runbookFor(port, canary));

const steps = [
  { ref: "v1.0.0", expect: "released", why: "a healthy first version" },
  { ref: "v2.0.0", expect: "rolled_back", why: "has a defect: monitoring should catch it and roll back" },
  { ref: "v3.0.0", expect: "released", why: "the fix" },
];

// The messages each release sends (the runbook's notify section) arrive here.
const inbox = await startInbox();
const results = [];
for (const step of steps) {
  console.log(`\n━━ gantry release ${runbook} --env local --ref ${step.ref}   (${step.why})\n`);
  const before = inbox.messages.length;
  const r = await gantry(["release", runbook, "--env", "local", "--ref", step.ref]);
  process.stdout.write(r.stdout);
  const outcome = /^(\w+):/m.exec(r.stdout)?.[1] ?? `exit ${r.status}`;
  const told = inbox.messages.slice(before);
  console.log(`\n  messages sent to the inbox (${told.length}):`);
  for (const m of told) console.log(show(m));
  results.push({ ...step, outcome, messages: told.length });
  if (r.status === 130) process.exit(130);
}

stopService();
await inbox.close();

console.log("\n━━ quickstart summary\n");
for (const r of results) {
  const ok = r.outcome === r.expect ? "✔" : "✖";
  console.log(`  ${ok} ${r.ref.padEnd(8)} ${r.outcome.padEnd(12)} (expected ${r.expect})`);
}
console.log("\n  Look closer:  npx gantry status            npx gantry log <run>");
process.exit(results.every((r) => r.outcome === r.expect) ? 0 : 1);

/** Runs gantry with the data folder and the inbox's address; the inbox answers while it runs. */
function gantry(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
      env: {
        ...process.env,
        GANTRY_DATA_DIR: dataDir,
        QUICKSTART_INBOX_URL: inbox.url,
        QUICKSTART_INBOX_SECRET: inbox.secret,
      },
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    child.on("close", (status) => resolve({ status, stdout }));
  });
}

/** The local-process provider leaves the service running after a release; the quickstart cleans up. */
function stopService() {
  const running = serviceProcess();
  if (!running) return;
  try {
    process.kill(-running.pid, "SIGTERM");
    console.log(`\n(stopped the quickstart service ${running.version}, pid ${running.pid})`);
  } catch {
    // gone already
  }
}

/** The process the local-process provider recorded as running (it stops it before starting another). */
function serviceProcess() {
  try {
    return JSON.parse(fs.readFileSync(processFile, "utf8")).process ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * QUICKSTART_PORT when set (it must be free), else 18080 when free, else any free port.
 * A port held by the quickstart's own service from an earlier run counts as free: the
 * provider stops that service before it starts the next version.
 */
async function choosePort() {
  const own = serviceProcess();
  const free = async (p) => !(await taken(p)) || (own?.port === p && alive(own.pid));
  const asked = process.env.QUICKSTART_PORT;
  if (asked !== undefined && asked !== "") {
    const p = Number(asked);
    if (!Number.isInteger(p) || p < 1 || p > 65535) {
      console.error(
        `quickstart: QUICKSTART_PORT must be a port number (1-65535), not ${JSON.stringify(asked)}`,
      );
      process.exit(2);
    }
    if (!(await free(p))) {
      console.error(
        `quickstart: QUICKSTART_PORT=${p}, but another program listens on 127.0.0.1:${p}; choose another port, or unset QUICKSTART_PORT to let the quickstart pick a free one`,
      );
      process.exit(2);
    }
    return p;
  }
  if (await free(DEFAULT_PORT)) return DEFAULT_PORT;
  const p = await anyFreePort();
  console.log(
    `port ${DEFAULT_PORT} is in use by another program: the quickstart serves on 127.0.0.1:${p} instead (QUICKSTART_PORT chooses the port)`,
  );
  return p;
}

/**
 * The runbook to release: the example itself on 18080, else a copy for `p` (with service.mjs
 * beside it); with `withCanary`, a copy whose deploy has canary steps.
 */
function runbookFor(p, withCanary) {
  const original = path.join(here, "runbook.yaml");
  if (p === DEFAULT_PORT && !withCanary) return original;
  const dir = path.join(dataDir, "quickstart");
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(here, "service.mjs"), path.join(dir, "service.mjs"));
  let text = fs
    .readFileSync(original, "utf8")
    .replace(/^# yaml-language-server: .*\n/, "")
    .replaceAll(String(DEFAULT_PORT), String(p));
  if (withCanary) text = text.replace(/^(deploy:\n(?: {2}.*\n)*)/m, `$1${CANARY}`);
  const file = path.join(dir, "runbook.yaml");
  const why = withCanary
    ? "with canary steps (--canary)"
    : `on port ${p}, because ${DEFAULT_PORT} was in use or QUICKSTART_PORT asked for ${p}`;
  fs.writeFileSync(
    file,
    `# Written by examples/quickstart/run.mjs: examples/quickstart/runbook.yaml ${why}.\n${text}`,
  );
  return file;
}

/** Whether something listens on 127.0.0.1:p (trying to bind it, as the local-process provider does). */
function taken(p) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", (e) => resolve(e.code === "EADDRINUSE" || e.code === "EACCES"));
    server.listen({ port: p, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(false)));
  });
}

function anyFreePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port: p } = server.address();
      server.close(() => resolve(p));
    });
  });
}

function alive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}
