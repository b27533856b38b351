/**
 * One seed's releases against its stand-in, through the `gantry` binary, as
 * examples/seeds/README.md describes: start `standin/standin.mjs`, run each release of
 * `standin/releases.json` in order on one data folder, answer what the run asks of a person as
 * the members of the roles it names, then check the outcome, the reason, the version serving
 * (asked of the stand-in, not of Gantry) and that no secret value reached any output.
 * Used by `npm run seeds` and by the test suite.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { listRuns } from "../src/app/runs.js";
import { type Control, openControl } from "../src/engine/control.js";
import { loadRunbook } from "../src/runbook/load.js";
import { stopServer } from "../src/store/embedded.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "bin/gantry.js");
export const SEEDS = path.join(ROOT, "examples/seeds");

/** How long a stand-in may take to start, and one release to finish. */
const START_MS = 120_000;
const RELEASE_MS = 300_000;
/**
 * How often the run is looked at for a request to a person: through one connection of this
 * process (a `gantry status` per look would start a process twice a second, most of a core).
 */
const LOOK_MS = 150;

export interface SeedRelease {
  ref: string;
  /** The environment, when not the manifest's (a staging release before production's). */
  env?: string;
  expect: string;
  /** A text the run's reason must contain, or several of which it must contain one. */
  reason?: string | string[];
  serving?: string;
}

export interface SeedRow {
  seed: string;
  ref: string;
  expect: string;
  outcome: string;
  reason: string;
  /** From the deploy (T) to the rollback's start, and from there to the rollback done. */
  detectionMs?: number;
  rollbackMs?: number;
  messages: number;
  wallMs: number;
  serving?: string;
  /** What did not go as releases.json says: empty when the release is as expected. */
  problems: string[];
  run?: string;
}

interface StandinInfo {
  env: Record<string, string>;
  secrets: string[];
  version?: string;
}

/** The seed folders that have a stand-in, by name (000-vercel-sentry-redis, …). */
export function seedsWithStandins(): string[] {
  return fs
    .readdirSync(SEEDS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(SEEDS, d.name, "standin/releases.json")))
    .map((d) => d.name)
    .sort();
}

/** `002` or `002-replit-neon-stripe` → the folder name. */
export function seedFolder(name: string): string | undefined {
  return fs.readdirSync(SEEDS).find((d) => d === name || d.startsWith(`${name}-`));
}

export interface RunSeedOptions {
  /** Where the stand-in's files and the embedded Postgres go (default a new folder under /var/tmp). */
  dir?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export async function runSeed(seed: string, options: RunSeedOptions = {}): Promise<SeedRow[]> {
  const log = options.log ?? (() => {});
  const folder = path.join(SEEDS, seed);
  const runbook = path.join(folder, "runbook.yaml");
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, "standin/releases.json"), "utf8")) as {
    env: string;
    releases: SeedRelease[];
  };
  // Embedded Postgres runs as user postgres when gantry runs as root: its folder must be reachable.
  const own = options.dir === undefined;
  const dir = options.dir ?? fs.mkdtempSync(path.join("/var/tmp", `gantry-seed-${seed.slice(0, 3)}-`));
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  const dataDir = path.join(dir, "gantry");
  const standinDir = path.join(dir, "standin");
  const roles = rolesOf(runbook);

  log(`${seed}: starting its stand-in (${path.relative(ROOT, folder)}/standin/standin.mjs)`);
  const standin = await startStandin(folder, standinDir);
  const rows: SeedRow[] = [];
  let control: Control | undefined;
  try {
    // This process opens the data folder's embedded server first; each gantry it starts uses it.
    control = await openControl({ dataDir });
    for (const release of manifest.releases) {
      const env = release.env ?? manifest.env;
      log(`${seed}: gantry release ${path.relative(ROOT, runbook)} --env ${env} --ref ${release.ref}`);
      const row = await runRelease(seed, runbook, env, release, standin.info, dataDir, roles, control, log);
      rows.push(row);
      log(
        `${seed}: ${release.ref} ${row.outcome}${row.problems.length ? ` — ${row.problems.join("; ")}` : ""} (${(row.wallMs / 1000).toFixed(1)} s)`,
      );
    }
  } finally {
    await control?.close();
    await standin.stop();
    await stopServer(path.join(dataDir, "postgres"));
  }
  // A folder of this run's own is removed when every release went as expected, else kept to read.
  const expected = rows.length === manifest.releases.length && rows.every((r) => r.problems.length === 0);
  if (own && expected) fs.rmSync(dir, { recursive: true, force: true });
  else log(`${seed}: its stand-in's files and Gantry's data folder are kept in ${dir}`);
  return rows;
}

async function runRelease(
  seed: string,
  runbook: string,
  env: string,
  release: SeedRelease,
  standin: StandinInfo,
  dataDir: string,
  roles: Record<string, string[]>,
  control: Control,
  log: (line: string) => void,
): Promise<SeedRow> {
  const started = Date.now();
  const processEnv = { ...process.env, ...standin.env, GANTRY_DATA_DIR: dataDir, GANTRY_USER: "seed-run" };
  const before = new Set(await runIds(control));
  const child = spawn(
    process.execPath,
    [BIN, "release", runbook, "--env", env, "--ref", release.ref, "--json"],
    {
      env: processEnv,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output = collect(child);
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const timer = setTimeout(() => child.kill("SIGTERM"), RELEASE_MS);

  let run: string | undefined;
  const answered = new Set<string>();
  while (!done) {
    await Promise.race([sleep(LOOK_MS), exited]);
    if (done) break;
    run ??= (await runIds(control)).find((id) => !before.has(id));
    if (run) await answer(run, control, processEnv, roles, answered, log);
  }
  clearTimeout(timer);
  const code = await exited;
  const problems: string[] = [];
  let result: Record<string, unknown> = {};
  try {
    // --json prints the result last, indented: from its opening brace at the start of a line.
    const start = output.stdout.lastIndexOf("\n{");
    result = JSON.parse(start === -1 ? output.stdout : output.stdout.slice(start + 1));
  } catch {
    problems.push(`gantry release printed no result (exit ${code}): ${tail(output.stderr)}`);
  }
  run ??= result.run as string | undefined;
  const outcome = String(result.outcome ?? `exit ${code}`);
  const reason = String(result.reason ?? "");
  if (outcome !== release.expect)
    problems.push(`expected ${release.expect}, got ${outcome}: ${reason || tail(output.stderr)}`);
  const named = release.reason === undefined ? [] : [release.reason].flat();
  if (named.length > 0 && !named.some((n) => reason.includes(n)))
    problems.push(`the reason does not name ${named.join(" or ")}: ${reason}`);
  const serving = standin.version ? await servingVersion(standin.version) : undefined;
  if (release.serving && serving !== release.serving)
    problems.push(`${release.serving} should serve afterwards, ${serving ?? "nothing"} does`);

  // Everything a person could read about the run: no secret value may be in any of it.
  const texts = [output.stdout, output.stderr];
  let messages = 0;
  let detectionMs: number | undefined;
  if (run) {
    for (const args of [
      ["log", run],
      ["report", run],
      ["postmortem", run],
      ["status", run, "--json"],
    ]) {
      const r = await gantryOnce(args, processEnv);
      texts.push(r.stdout, r.stderr);
      if (args[0] === "status") {
        try {
          const view = JSON.parse(r.stdout) as {
            messages?: { sent?: number };
            monitor?: { t: string };
            rollback?: { startedAt: string };
          };
          messages = view.messages?.sent ?? 0;
          if (view.monitor && view.rollback)
            detectionMs = Date.parse(view.rollback.startedAt) - Date.parse(view.monitor.t);
        } catch {}
      }
    }
  }
  for (const name of standin.secrets) {
    const value = standin.env[name];
    if (value && value.length >= 6 && texts.some((t) => t.includes(value)))
      problems.push(`the value of secret ${name} appears in the run's output`);
  }
  const rollback = result.rollback as { detectToDoneMs?: number } | undefined;
  return {
    seed,
    ref: release.ref,
    expect: release.expect,
    outcome,
    reason,
    ...(rollback?.detectToDoneMs !== undefined ? { rollbackMs: rollback.detectToDoneMs } : {}),
    ...(detectionMs !== undefined ? { detectionMs } : {}),
    messages,
    wallMs: Date.now() - started,
    ...(serving !== undefined ? { serving } : {}),
    problems,
    ...(run ? { run } : {}),
  };
}

interface WaitingView {
  status?: string;
  operator?: string;
  waiting?: {
    step: string;
    what: string;
    form: string;
    /** A rollback choice: its default is what the seed's people pick. */
    default?: string;
    approvals: string[];
    counted: Array<{ by: string; role?: string }>;
    approvers: Array<{ role: string; count: number }>;
  };
}

/**
 * What the run waits for from a person, answered as the members of the roles it names: every
 * answer still needed at once (compressed timelines leave little time), each member once.
 * Nobody answers a closed window.
 */
async function answer(
  run: string,
  control: Control,
  env: NodeJS.ProcessEnv,
  roles: Record<string, string[]>,
  answered: Set<string>,
  log: (line: string) => void,
): Promise<void> {
  let view: WaitingView | undefined;
  try {
    view = (await control.view(run)) as WaitingView | undefined;
  } catch {
    return; // the database is busy or restarting: look again
  }
  if (!view) return;
  const w = view.waiting;
  if (view.status !== "waiting" || !w || w.form === "override") return;
  // A schedule item waits for its time unless it names who signs it off.
  if (w.form === "schedule" && w.approvers.length === 0) return;
  const wanted = w.approvers.length > 0 ? w.approvers : [{ role: Object.keys(roles)[0] ?? "", count: 1 }];
  const needs = wanted.map(({ role, count }) => ({
    role,
    count: Math.max(0, count - w.counted.filter((c) => c.role === role).length),
    members: (roles[role] ?? []).filter((m) => !w.approvals.includes(m) && !answered.has(`${w.step} ${m}`)),
  }));
  const answers = assign(needs);
  await Promise.all(
    answers.map(async ({ member, role }) => {
      answered.add(`${w.step} ${member}`);
      const verb =
        w.form === "ack"
          ? ["ack", run, "--as", member]
          : [
              "approve",
              run,
              "--as",
              member,
              "--role",
              role,
              ...(w.form === "choice" && w.default ? ["--choice", w.default] : []),
            ];
      const a = await gantryOnce(verb, env);
      log(
        `  ${member} (${role}) ${verb[0]}s ${w.what}${a.code === 0 ? "" : `: refused — ${tail(a.stderr)}`}`,
      );
    }),
  );
}

/**
 * Members for every role still short of answers, each person counted once: a person in two roles
 * answers for the one nobody else can (deployment-lead {dana, sam} and devops-lead {dana} → sam
 * and dana). Tried in order with backtracking; the roles are few.
 */
export function assign(
  needs: Array<{ role: string; count: number; members: string[] }>,
): Array<{ member: string; role: string }> {
  const slots = needs.flatMap((n) => Array.from({ length: n.count }, () => n));
  const taken: Array<{ member: string; role: string }> = [];
  const fill = (i: number): boolean => {
    if (i === slots.length) return true;
    const slot = slots[i]!;
    for (const member of slot.members) {
      if (taken.some((t) => t.member === member)) continue;
      taken.push({ member, role: slot.role });
      if (fill(i + 1)) return true;
      taken.pop();
    }
    return false;
  };
  if (fill(0)) return taken;
  // Not every role can be filled: answer as many as can be (the run shows who is missing).
  const some: Array<{ member: string; role: string }> = [];
  for (const slot of slots) {
    const member = slot.members.find((m) => !some.some((t) => t.member === m));
    if (member) some.push({ member, role: slot.role });
  }
  return some;
}

function rolesOf(runbook: string): Record<string, string[]> {
  const loaded = loadRunbook(runbook);
  if (!loaded.runbook) throw new Error(`${runbook} does not validate: gantry validate ${runbook}`);
  return Object.fromEntries(Object.entries(loaded.runbook.roles).map(([name, r]) => [name, r.members]));
}

async function runIds(control: Control): Promise<string[]> {
  try {
    return (await listRuns(control)).map((v) => v.id);
  } catch {
    return [];
  }
}

async function servingVersion(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    const text = (await res.text()).trim();
    try {
      const body = JSON.parse(text) as { version?: unknown };
      if (body && typeof body === "object" && body.version !== undefined) return String(body.version);
    } catch {}
    return text.replace(/^v/, "");
  } catch {
    return undefined;
  }
}

async function startStandin(
  folder: string,
  dir: string,
): Promise<{ info: StandinInfo; stop(): Promise<void> }> {
  fs.mkdirSync(dir, { recursive: true });
  const ready = path.join(dir, "standin.json");
  fs.rmSync(ready, { force: true });
  const logFile = path.join(dir, "standin.log");
  const out = fs.openSync(logFile, "a");
  const child = spawn(process.execPath, [path.join(folder, "standin/standin.mjs"), dir], {
    stdio: ["ignore", out, out],
    detached: true,
  });
  fs.closeSync(out);
  let exit: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on("exit", (code) => {
      exit = code;
      resolve();
    }),
  );
  // Ctrl-C or a kill of this process stops the stand-in too (it runs in its own process group).
  const onSignal = (signal: NodeJS.Signals) => {
    if (exit === undefined) child.kill("SIGTERM");
    process.exitCode = signal === "SIGINT" ? 130 : 143;
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const stop = async () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (exit === undefined) {
      child.kill("SIGTERM");
      const gone = await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]);
      if (!gone) killGroup(child);
    }
  };
  const deadline = Date.now() + START_MS;
  while (!fs.existsSync(ready)) {
    if (exit !== undefined)
      throw new Error(`the stand-in stopped (exit ${exit}):\n${tail(read(logFile), 20)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the stand-in did not start within ${START_MS / 1000} s:\n${tail(read(logFile), 20)}`);
    }
    await sleep(200);
  }
  return { info: JSON.parse(fs.readFileSync(ready, "utf8")) as StandinInfo, stop };
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, "SIGKILL");
  } catch {}
}

function gantryOnce(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    const output = collect(child);
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, ...output });
    });
  });
}

function collect(child: ChildProcess): { stdout: string; stderr: string } {
  const o = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d: Buffer) => (o.stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (o.stderr += d.toString()));
  return o;
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function tail(text: string, lines = 3): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}
