/**
 * `npm run quickstart` (examples/quickstart/run.mjs) on a busy machine: another program holds
 * port 18080, and the quickstart still releases v1, rolls v2 back and releases v3, on a port
 * of its own. QUICKSTART_PORT asks for a port, and a taken or invalid one is said plainly.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { stopServer } from "../src/store/embedded.js";
import { BIN, ROOT } from "./helpers/paths.js";

const DEFAULT_PORT = 18080;
const dirs: string[] = [];
let squatter: net.Server | undefined;

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script with node from the repository root; `guardMs` is a hang guard, never a timing. */
function node(args: string[], env: Record<string, string>, guardMs = 240_000): Promise<Ended> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, CI: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), guardMs);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-quickstart-"));
  // As root the embedded Postgres runs as `postgres`, which must be able to enter the folder.
  fs.chmodSync(dir, 0o755);
  dirs.push(dir);
  return path.join(dir, ".gantry");
}

/** Listens on 127.0.0.1:port; a port someone else holds already is just as busy. */
function occupy(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("npm run quickstart with port 18080 taken", () => {
  before(async () => {
    squatter = await occupy(DEFAULT_PORT);
  });
  after(async () => {
    await new Promise((resolve) => (squatter ? squatter.close(resolve) : resolve(undefined)));
    for (const dir of dirs) {
      const record = path.join(dir, ".gantry/services/quickstart/local/process.json");
      try {
        const pid = JSON.parse(fs.readFileSync(record, "utf8")).process?.pid;
        if (pid) process.kill(-pid, "SIGKILL");
      } catch {
        // nothing left running
      }
      await stopServer(path.join(dir, ".gantry/postgres"));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("picks a free port and releases v1, rolls back v2 and releases v3", async () => {
    assert.equal(await listening(DEFAULT_PORT), true, "18080 is taken for this test");
    const data = dataDir();
    const r = await node(["examples/quickstart/run.mjs"], { GANTRY_DATA_DIR: data });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const chosen =
      /^port 18080 is in use by another program: the quickstart serves on 127\.0\.0\.1:(\d+) instead/m.exec(
        r.stdout,
      );
    assert.ok(chosen, r.stdout);
    const port = Number(chosen[1]);
    assert.notEqual(port, DEFAULT_PORT);
    assert.match(r.stdout, /✔ v1\.0\.0 +released/);
    assert.match(r.stdout, /✔ v2\.0\.0 +rolled_back/);
    assert.match(r.stdout, /✔ v3\.0\.0 +released/);
    assert.doesNotMatch(r.stdout, /port 18080 is in use by another process/);

    // The copy it released serves on that port; the example itself is untouched.
    const copy = fs.readFileSync(path.join(data, "quickstart", "runbook.yaml"), "utf8");
    assert.match(copy, new RegExp(`url: http://127\\.0\\.0\\.1:${port}\\n`));
    assert.match(copy, new RegExp(`port: ${port}\\n`));
    assert.doesNotMatch(copy, /18080\n/);
    assert.match(
      fs.readFileSync(path.join(ROOT, "examples/quickstart/runbook.yaml"), "utf8"),
      /port: 18080\n/,
    );

    // The service was stopped at the end; the other program still has its port.
    assert.match(r.stdout, /stopped the quickstart service 3\.0\.0, pid \d+/);
    assert.equal(await listening(DEFAULT_PORT), true);

    // What the provider recorded, read back from the database.
    const d = await node([BIN, "deployments", "--env", "local", "--json"], { GANTRY_DATA_DIR: data });
    assert.equal(d.code, 0, d.stderr);
    const [view] = JSON.parse(d.stdout) as Array<{
      service: string;
      lastKnownGood: string;
      entries: Array<{ action: string; version: string; result: string }>;
    }>;
    assert.equal(view?.service, "quickstart");
    assert.equal(view.lastKnownGood, "3.0.0");
    assert.deepEqual(
      view.entries.map((e) => [e.action, e.version, e.result]),
      [
        ["deploy", "1.0.0", "ok"],
        ["deploy", "2.0.0", "ok"],
        ["rollback", "1.0.0", "ok"],
        ["deploy", "3.0.0", "ok"],
      ],
    );
  });

  it("says so when QUICKSTART_PORT names a port in use, and starts nothing", async () => {
    const data = dataDir();
    const r = await node(["examples/quickstart/run.mjs"], {
      GANTRY_DATA_DIR: data,
      QUICKSTART_PORT: String(DEFAULT_PORT),
    });
    assert.equal(r.code, 2, r.stdout);
    assert.equal(
      r.stderr.trim(),
      "quickstart: QUICKSTART_PORT=18080, but another program listens on 127.0.0.1:18080; choose another port, or unset QUICKSTART_PORT to let the quickstart pick a free one",
    );
    assert.equal(fs.existsSync(data), false, "no release ran");
  });

  it("refuses a QUICKSTART_PORT that is not a port", async () => {
    const r = await node(["examples/quickstart/run.mjs"], {
      GANTRY_DATA_DIR: dataDir(),
      QUICKSTART_PORT: "80a",
    });
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.stderr.trim(), 'quickstart: QUICKSTART_PORT must be a port number (1-65535), not "80a"');
  });
});
