/**
 * One conformance suite, run against every built-in provider: the behaviour the engine relies
 * on (deploy, status, one deploy per key, rollback, last known good across instances, clear
 * failures for a hanging deploy, a version that never becomes healthy, a missing command, and
 * `started` telling a deploy that changed nothing).
 *
 * The command provider drives small shell scripts that keep a "current version" file; the
 * local-process provider starts examples/quickstart/service.mjs with node on a free port.
 * The provider state lives in a real (embedded) Postgres, one for the file.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Deploy } from "../runbook/schema/flow.js";
import { createProvider } from "./index.js";
import {
  freePort,
  readState,
  request,
  SERVICE_PATH,
  type TestDatabase,
  tempDir,
  testDatabase,
  testOptions,
} from "./test-support.js";
import type { Provider } from "./types.js";

let db: TestDatabase;
before(async () => {
  db = await testDatabase();
});
after(() => db?.close());

/** normal: works; hang: the deploy never finishes; unhealthy: never healthy; missing: the command does not exist. */
type Variant = "normal" | "hang" | "unhealthy" | "missing";

interface Harness {
  name: string;
  /** A provider on `stateDir` (a fresh one when not given). */
  create(variant?: Variant, stateDir?: string): Promise<{ provider: Provider; stateDir: string }>;
  /** How each failure reads, besides the common part. */
  expect: { hang: RegExp; unhealthy: RegExp };
  cleanup(): Promise<void>;
}

const MISSING = "gantry-no-such-command-4711";

function commandHarness(): Harness {
  const dir = tempDir("command-scripts");
  const script = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    return `sh ${join(dir, name)}`;
  };
  // The "platform": a file holding the version that serves ($CURRENT_FILE).
  const deploy = script("deploy.sh", 'echo "deploying $1"\nprintf "%s\\n" "$1" > "$CURRENT_FILE"');
  const rollback = script("rollback.sh", 'echo "rolling back to $1"\nprintf "%s\\n" "$1" > "$CURRENT_FILE"');
  const status = script("status.sh", 'test -s "$CURRENT_FILE" || { echo "nothing deployed"; exit 1; }');
  const version = script("version.sh", 'cat "$CURRENT_FILE" 2>/dev/null || true');
  const unhealthy = script("unhealthy.sh", 'echo "0 of 3 replicas ready"; exit 1');
  const dirs: string[] = [dir];

  return {
    name: "command",
    async create(variant = "normal", stateDir = tempDir("command-state")) {
      dirs.push(stateDir);
      const spec = Deploy.parse({
        provider: "command",
        deploy:
          variant === "hang"
            ? "sleep 30"
            : variant === "missing"
              ? `${MISSING} {{ release.version }}`
              : `${deploy} {{ release.version }}`,
        rollback: `${rollback} {{ release.previousVersion }}`,
        status: variant === "unhealthy" ? unhealthy : status,
        version,
        timeout: variant === "normal" ? "5s" : "1s",
      });
      const options = testOptions(db.pool, stateDir, { env: { CURRENT_FILE: `${stateDir}.current` } });
      return { provider: createProvider(spec, options)!, stateDir };
    },
    expect: {
      hang: /^deploy command timed out after 1s$/,
      unhealthy:
        /^deployed 2\.0\.0, but the checks did not pass within 1s: status command failed with exit 1 \(last output: "0 of 3 replicas ready"\)$/,
    },
    async cleanup() {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      for (const d of dirs) rmSync(`${d}.current`, { force: true });
    },
  };
}

function localProcessHarness(): Harness {
  const dir = tempDir("local-scripts");
  // Accepts connections and never answers; and a process that listens nowhere.
  writeFileSync(
    join(dir, "hang.mjs"),
    'import net from "node:net";\nnet.createServer(() => {}).listen(Number(process.env.PORT), "127.0.0.1");\n',
  );
  writeFileSync(join(dir, "idle.mjs"), "setInterval(() => {}, 1000);\n");
  const ports = new Map<string, number>();
  const providers: Provider[] = [];
  const dirs: string[] = [dir];

  return {
    name: "local-process",
    async create(variant = "normal", stateDir = tempDir("local-state")) {
      dirs.push(stateDir);
      const port = ports.get(stateDir) ?? (await freePort());
      ports.set(stateDir, port);
      const start = {
        normal: `node ${SERVICE_PATH}`,
        hang: `node ${join(dir, "hang.mjs")}`,
        unhealthy: `node ${join(dir, "idle.mjs")}`,
        missing: MISSING,
      }[variant];
      const spec = Deploy.parse({
        provider: "local-process",
        start,
        port,
        timeout: variant === "normal" ? "5s" : "1s",
      });
      const provider = createProvider(
        spec,
        testOptions(db.pool, stateDir, { env: { QUICKSTART_TRAFFIC: "0" } }),
      )!;
      providers.push(provider);
      return { provider, stateDir };
    },
    expect: {
      hang: /^2\.0\.0 did not become healthy within 1s \(last: no answer within .+\); see .+2\.0\.0\.log$/,
      unhealthy:
        /^2\.0\.0 did not become healthy within 1s \(last: connection refused\); see .+2\.0\.0\.log$/,
    },
    async cleanup() {
      for (const provider of providers) await provider.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

for (const harness of [commandHarness(), localProcessHarness()]) {
  describe(`provider conformance: ${harness.name}`, () => {
    after(() => harness.cleanup());

    it("deploys a version, which status then reports as serving and healthy", async () => {
      const { provider } = await harness.create();
      const result = await provider.deploy(request("1.0.0", "run-1:deploy"));
      assert.equal(result.ok, true, result.message);
      assert.equal(result.started, true);
      assert.equal(result.version, "1.0.0");
      assert.notEqual(result.replayed, true);
      const status = await provider.status();
      assert.equal(status.version, "1.0.0");
      assert.equal(status.healthy, true, status.message);
    });

    it("deploys once for one key: the second call is a replay", async () => {
      const { provider, stateDir } = await harness.create();
      const first = await provider.deploy(request("1.0.0", "run-2:deploy"));
      const second = await provider.deploy(request("1.0.0", "run-2:deploy"));
      assert.equal(first.ok, true, first.message);
      assert.equal(second.ok, true, second.message);
      assert.equal(second.replayed, true, second.message);
      assert.equal(second.started, true, "the key did deploy, earlier");
      assert.equal(second.version, "1.0.0");
      const { deploys, current } = await readState(db.pool, stateDir);
      assert.equal(current, "1.0.0");
      assert.equal(deploys.length, 1);
      assert.equal(deploys[0]?.result, "ok");
      assert.equal(deploys[0]?.key, "run-2:deploy");
    });

    it("rolls back to the previous version", async () => {
      const { provider, stateDir } = await harness.create();
      assert.equal((await provider.deploy(request("1.0.0", "run-3:deploy"))).ok, true);
      const upgrade = await provider.deploy(request("2.0.0", "run-4:deploy"));
      assert.equal(upgrade.ok, true, upgrade.message);
      assert.equal(upgrade.previousVersion, "1.0.0");
      assert.equal((await provider.status()).version, "2.0.0");

      const back = await provider.rollback(request("1.0.0", "run-4:rollback"));
      assert.equal(back.ok, true, back.message);
      assert.equal(back.version, "1.0.0");
      assert.equal(back.previousVersion, "2.0.0");
      const status = await provider.status();
      assert.equal(status.version, "1.0.0");
      assert.equal(status.healthy, true, status.message);
      assert.deepEqual(
        (await readState(db.pool, stateDir)).deploys.map((d) => [d.action, d.version, d.result]),
        [
          ["deploy", "1.0.0", "ok"],
          ["deploy", "2.0.0", "ok"],
          ["rollback", "1.0.0", "ok"],
        ],
      );
    });

    it("keeps the last known good version across provider instances", async () => {
      const { provider, stateDir } = await harness.create();
      assert.equal(await provider.lastKnownGood(), undefined);
      assert.equal((await provider.deploy(request("1.0.0", "run-5:deploy"))).ok, true);
      await provider.markGood("1.0.0");
      const { provider: again } = await harness.create("normal", stateDir);
      assert.equal(await again.lastKnownGood(), "1.0.0");
      assert.equal((await again.status()).version, "1.0.0");
      await again.markGood("1.0.1");
      assert.equal(await provider.lastKnownGood(), "1.0.1");
      assert.equal((await readState(db.pool, stateDir)).lastKnownGood, "1.0.1");
    });

    it("gives up on a hanging deploy at its timeout", async () => {
      const { provider, stateDir } = await harness.create("hang");
      const result = await provider.deploy(request("2.0.0", "run-6:deploy", 1000));
      assert.equal(result.ok, false);
      assert.equal(result.started, true, "the deploy ran");
      assert.match(result.message, harness.expect.hang);
      assert.equal((await readState(db.pool, stateDir)).deploys.at(-1)?.result, "failed");
    });

    it("says clearly when the new version never becomes healthy", async () => {
      const { provider, stateDir } = await harness.create("unhealthy");
      const result = await provider.deploy(request("2.0.0", "run-7:deploy", 1000));
      assert.equal(result.ok, false);
      assert.equal(result.started, true, "the deploy ran");
      assert.match(result.message, harness.expect.unhealthy);
      assert.equal((await provider.status()).healthy, false);
      assert.equal((await readState(db.pool, stateDir)).deploys.at(-1)?.result, "failed");
    });

    it("says 'not found' when the command does not exist", async () => {
      const { provider } = await harness.create("missing");
      const result = await provider.deploy(request("2.0.0", "run-8:deploy", 1000));
      assert.equal(result.ok, false);
      assert.match(result.message, /not found/);
      assert.ok(
        result.output?.some((line) => line.includes(MISSING)),
        JSON.stringify(result.output),
      );
      assert.equal(result.started, false, "nothing was deployed: nothing to roll back");
    });

    it("says started: false only when what served before still serves", async () => {
      const { provider, stateDir } = await harness.create();
      assert.equal((await provider.deploy(request("1.0.0", "run-9:deploy"))).ok, true);
      const { provider: missing } = await harness.create("missing", stateDir);
      const result = await missing.deploy(request("2.0.0", "run-10:deploy", 1000));
      assert.equal(result.ok, false);
      if (!result.started) {
        // command: its deploy command does not exist, so 1.0.0 was never touched.
        const status = await missing.status();
        assert.equal(status.version, "1.0.0", status.message);
        assert.equal(status.healthy, true, status.message);
      } else {
        // local-process: 1.0.0 was stopped to make room, so the deploy did change something.
        assert.equal((await missing.status()).healthy, false);
      }
      assert.equal(result.started, harness.name !== "command");
    });
  });
}
