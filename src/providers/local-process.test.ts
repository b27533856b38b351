/**
 * What only the local-process provider does: the service outlives Gantry, the quickstart's
 * v2 defect shows on /ready, stop() stops it, a foreign process on the port, a crash while
 * starting, and a retried key that resumes waiting instead of starting twice.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Deploy } from "../runbook/schema/flow.js";
import { createLocalProcessProvider } from "./local-process.js";
import { groupAlive } from "./process-group.js";
import { sleep } from "./state.js";
import {
  freePort,
  get,
  readState,
  request,
  SERVICE_PATH,
  type TestDatabase,
  tempDir,
  testDatabase,
  testOptions,
} from "./test-support.js";
import type { Provider, ProviderOptions } from "./types.js";

const providers: Provider[] = [];
const dirs: string[] = [];
let db: TestDatabase;

async function setup(start = `node ${SERVICE_PATH}`, env: Record<string, string> = {}) {
  const stateDir = tempDir("local-state");
  dirs.push(stateDir);
  const port = await freePort();
  const spec = Deploy.parse({ provider: "local-process", start, port, timeout: "5s" });
  assert.ok(spec.provider === "local-process");
  const options: ProviderOptions = testOptions(db.pool, stateDir, {
    env: { QUICKSTART_TRAFFIC: "0", ...env },
  });
  const provider = createLocalProcessProvider(spec, options);
  providers.push(provider);
  return { provider, stateDir, port, spec, options };
}

describe("local-process provider", () => {
  before(async () => {
    db = await testDatabase();
  });
  after(async () => {
    for (const provider of providers) await provider.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await db?.close();
  });

  it("leaves the service running after deploy returns, and after Gantry itself exits", async () => {
    const { stateDir, port, spec, options } = await setup();
    // A separate Node process plays Gantry: it deploys and exits; the service must stay, and
    // what it recorded in Postgres is what this process reads.
    const module = (name: string) => JSON.stringify(new URL(name, import.meta.url).href);
    const script = `
      const { createLocalProcessProvider } = await import(${module("./local-process.js")});
      const { testState } = await import(${module("./test-support.js")});
      const { default: pg } = await import("pg");
      const pool = new pg.Pool({ connectionString: ${JSON.stringify(db.url)}, max: 2 });
      const spec = ${JSON.stringify(spec)};
      const provider = createLocalProcessProvider(spec, {
        state: testState(pool, ${JSON.stringify(stateDir)}),
        localDir: ${JSON.stringify(stateDir)}, cwd: ${JSON.stringify(stateDir)},
        env: { QUICKSTART_TRAFFIC: "0" },
        render: (t, v) => t.replaceAll("{{ release.version }}", v.version),
        redact: (line) => line,
      });
      const result = await provider.deploy({ version: "1.0.0", key: "run:deploy", timeoutMs: 5000 });
      await pool.end();
      console.log(JSON.stringify(result));`;
    const gantry = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    gantry.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const timer = setTimeout(() => gantry.kill("SIGKILL"), 10_000);
    const code = await new Promise<number | null>((resolve) => gantry.on("exit", resolve));
    clearTimeout(timer);
    assert.equal(code, 0, "the deploying process exits on its own");
    assert.equal(JSON.parse(stdout).ok, true, stdout);

    await sleep(200);
    const hello = await get(port, "/api/hello");
    assert.equal(hello.status, 200);
    assert.deepEqual(JSON.parse(hello.body), { hello: "world", version: "1.0.0" });
    const recorded = await readState(db.pool, stateDir);
    assert.equal(recorded.current, "1.0.0");
    assert.deepEqual(
      recorded.deploys.map((d) => [d.key, d.result]),
      [["run:deploy", "ok"]],
    );
    const pid = recorded.process?.pid;
    assert.ok(pid && groupAlive(pid));

    // A new provider on the same state finds it, and stops it.
    const again = createLocalProcessProvider(spec, options);
    const status = await again.status();
    assert.equal(status.version, "1.0.0");
    assert.equal(status.healthy, true, status.message);
    await again.stop();
    assert.equal(groupAlive(pid), false);
    assert.equal((await get(port, "/health")).error, "ECONNREFUSED");
    assert.equal((await readState(db.pool, stateDir)).current, undefined);
  });

  it("shows the v2 defect on /ready after DEFECT_AFTER_MS, while /health stays 200", async () => {
    const { provider, port } = await setup(undefined, { DEFECT_AFTER_MS: "300", QUICKSTART_TRAFFIC: "1" });
    const result = await provider.deploy(request("2.0.0", "run:deploy"));
    assert.equal(result.ok, true, result.message);
    assert.match(result.message, /^started 2\.0\.0 \(pid \d+\) on 127\.0\.0\.1:\d+, healthy after \d+ ms$/);
    assert.ok(result.output?.some((line) => line === `quickstart 2.0.0 listening on 127.0.0.1:${port}`));
    await sleep(600);
    assert.deepEqual(JSON.parse((await get(port, "/ready")).body), { status: "not_ready", version: "2.0.0" });
    const health = await get(port, "/health");
    assert.equal(health.status, 200);
    assert.equal((await provider.status()).healthy, true);
    const metrics = (await get(port, "/metrics")).body;
    assert.match(metrics, /^http_requests_total\{path="\/api\/hello",code="500"\} [1-9]\d*$/m);
    assert.match(metrics, /^quickstart_build_info\{version="2\.0\.0"\} 1$/m);

    // 1.0.0 stays healthy past the same point.
    assert.equal((await provider.rollback(request("1.0.0", "run:rollback"))).ok, true);
    await sleep(400);
    assert.deepEqual(JSON.parse((await get(port, "/ready")).body), { status: "ready", version: "1.0.0" });
  });

  it("stop() stops the service", async () => {
    const { provider, stateDir, port } = await setup();
    assert.equal((await provider.deploy(request("1.0.0", "run:deploy"))).ok, true);
    const pid = (await readState(db.pool, stateDir)).process!.pid;
    await provider.stop();
    assert.equal(groupAlive(pid), false);
    assert.equal((await get(port, "/health")).error, "ECONNREFUSED");
    const status = await provider.status();
    assert.deepEqual(status, { healthy: false, message: "nothing running" });
  });

  it("refuses a port that another process holds", async () => {
    const { provider, stateDir, port } = await setup();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    try {
      const result = await provider.deploy(request("1.0.0", "run:deploy"));
      assert.equal(result.ok, false);
      assert.equal(result.started, false, "nothing was started");
      assert.equal(result.message, `port ${port} is in use by another process`);
      const state = await readState(db.pool, stateDir);
      assert.deepEqual(state.deploys, [], "nothing was recorded");
      assert.equal(state.process, undefined);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("a retry of a key whose earlier attempt may have stopped a version never says nothing started", async () => {
    const { provider, stateDir, port, options } = await setup();
    assert.equal((await provider.deploy(request("1.0.0", "run-1:deploy"))).ok, true);
    // An earlier attempt of run-2 recorded itself and stopped 1.0.0, then gantry died; now
    // another program has the port.
    await options.state.begin({
      key: "run-2:deploy",
      version: "2.0.0",
      action: "deploy",
      previousVersion: "1.0.0",
    });
    await provider.stop();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    try {
      const result = await provider.deploy(request("2.0.0", "run-2:deploy"));
      assert.equal(result.ok, false);
      assert.equal(result.message, `port ${port} is in use by another process`);
      assert.equal(result.started, true, "1.0.0 was stopped for this key");
      assert.deepEqual(
        (await readState(db.pool, stateDir)).deploys.map((d) => [d.key, d.result]),
        [
          ["run-1:deploy", "ok"],
          ["run-2:deploy", "failed"],
        ],
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("reports a process that exits while starting, with its exit code and redacted last lines", async () => {
    const dir = tempDir("local-scripts");
    dirs.push(dir);
    writeFileSync(
      join(dir, "crash.mjs"),
      'console.error("boot failed: token=s3cr3t rejected");\nprocess.exit(3);\n',
    );
    const { provider, stateDir } = await setup(`node ${join(dir, "crash.mjs")}`);
    const result = await provider.deploy(request("1.0.0", "run:deploy"));
    assert.equal(result.ok, false);
    assert.match(
      result.message,
      /^1\.0\.0 exited with code 3 before becoming healthy \(last output: "boot failed: token=\[redacted\] rejected"\); see .+1\.0\.0\.log$/,
    );
    assert.ok(!JSON.stringify(result).includes("s3cr3t"));
    assert.equal(result.started, true, "the process did start");
    const state = await readState(db.pool, stateDir);
    assert.equal(state.current, undefined);
    assert.equal(state.process, undefined);
    assert.equal(state.deploys[0]?.result, "failed");
  });

  it("resumes waiting for a key whose process is still starting, instead of starting again", async () => {
    const { provider, stateDir } = await setup(`sleep 0.7; exec node ${SERVICE_PATH}`);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 200);
    const first = await provider.deploy({ ...request("1.0.0", "run:deploy"), signal: abort.signal });
    assert.equal(first.ok, false);
    assert.match(first.message, /^stopped waiting for 1\.0\.0 \(pid \d+\) to become healthy/);
    assert.equal(first.started, true);
    const pid = (await readState(db.pool, stateDir)).process?.pid;
    assert.equal((await readState(db.pool, stateDir)).deploys[0]?.result, "in-progress");

    const second = await provider.deploy(request("1.0.0", "run:deploy"));
    assert.equal(second.ok, true, second.message);
    assert.equal(second.replayed, true);
    const state = await readState(db.pool, stateDir);
    assert.equal(state.process?.pid, pid);
    assert.equal(state.current, "1.0.0");
    assert.deepEqual(
      state.deploys.map((d) => [d.key, d.result]),
      [["run:deploy", "ok"]],
    );
  });

  it("takes over from 0.4: state.json is imported once, and the process it recorded is the one stopped", async () => {
    const { provider, stateDir, port, spec } = await setup();
    // A 1.0.0 that Gantry 0.4 started and recorded in state.json.
    const old = spawn("/bin/sh", ["-c", `exec node ${SERVICE_PATH}`], {
      detached: true,
      stdio: "ignore",
      env: { ...process.env, PORT: String(port), VERSION: "1.0.0", QUICKSTART_TRAFFIC: "0" },
    });
    old.unref();
    const oldPid = old.pid!;
    for (let i = 0; i < 100 && (await get(port, "/health")).status !== 200; i++) await sleep(50);
    writeFileSync(
      join(stateDir, "state.json"),
      JSON.stringify({
        current: { version: "1.0.0", pid: oldPid, port, startedAt: "2025-01-01T00:00:00.000Z" },
        lastKnownGood: "1.0.0",
        deploys: [
          {
            key: "old:deploy",
            version: "1.0.0",
            action: "deploy",
            pid: oldPid,
            startedAt: "2025-01-01T00:00:00.000Z",
            result: "ok",
            finishedAt: "2025-01-01T00:00:01.000Z",
            message: "started 1.0.0",
          },
        ],
      }),
    );
    try {
      assert.equal(await provider.lastKnownGood(), "1.0.0");
      const status = await provider.status();
      assert.equal(status.version, "1.0.0", status.message);
      assert.equal(status.healthy, true, status.message);

      const result = await provider.deploy(request("3.0.0", "new:deploy"));
      assert.equal(result.ok, true, result.message);
      assert.equal(result.previousVersion, "1.0.0");
      assert.equal(groupAlive(oldPid), false, "the 0.4 process was stopped");
      assert.deepEqual(JSON.parse((await get(port, "/api/hello")).body).version, "3.0.0");

      // Imported once: what state.json says from now on does not matter.
      writeFileSync(join(stateDir, "state.json"), JSON.stringify({ lastKnownGood: "0.0.1", deploys: [] }));
      const again = createLocalProcessProvider(spec, testOptions(db.pool, stateDir));
      assert.equal(await again.lastKnownGood(), "1.0.0");
      const state = await readState(db.pool, stateDir);
      assert.equal(state.current, "3.0.0");
      assert.deepEqual(
        state.deploys.map((d) => [d.key, d.version, d.result]),
        [
          ["old:deploy", "1.0.0", "ok"],
          ["new:deploy", "3.0.0", "ok"],
        ],
      );
    } finally {
      if (groupAlive(oldPid)) process.kill(-oldPid, "SIGKILL");
    }
  });
});
