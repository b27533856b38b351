/**
 * SIGKILL during each provider's deploy and rollback, for every provider whose conformance
 * world can slow its platform down (`delay`): the call runs in a child process, which is
 * killed once the platform has begun; the same key again, from a new process's provider,
 * finishes the job without a second deploy or rollback on the platform, and the last known
 * good version (the rollback target) is kept.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ProviderCase, ProviderWorld } from "../src/providers/conformance.js";
import { createProvider } from "../src/providers/index.js";
import {
  request,
  type TestDatabase,
  tempDir,
  testDatabase,
  testOptions,
} from "../src/providers/test-support.js";
import { Deploy } from "../src/runbook/schema/flow.js";
import type { ChildCall } from "./helpers/provider-child.js";

const providersDir = path.join(import.meta.dirname, "../src/providers");
const CHILD = path.join(import.meta.dirname, "helpers/provider-child.js");
const cases: ProviderCase[] = [];
for (const file of fs.readdirSync(providersDir).sort()) {
  if (!file.endsWith(".conformance.js")) continue;
  const mod = (await import(path.join(providersDir, file))) as { conformance: ProviderCase };
  cases.push(mod.conformance);
}

let db: TestDatabase;
before(async () => {
  db = await testDatabase();
});
after(() => db?.close());

for (const c of cases) {
  describe(`provider crash: ${c.provider}`, () => {
    let world: ProviderWorld;
    const stops: Array<() => unknown> = [];
    before(async () => {
      world = await c.setup((stop) => stops.push(stop));
    });
    after(async () => {
      for (const stop of stops.reverse()) await stop();
    });

    /** Runs `call` in a child, kills it once the platform counts `ops` operations. */
    async function killedDuring(call: Omit<ChildCall, "databaseUrl">, ops: number): Promise<void> {
      const child = spawn(process.execPath, [CHILD, JSON.stringify({ ...call, databaseUrl: db.url })], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      const exited = new Promise((resolve) => child.on("exit", resolve));
      const deadline = Date.now() + 20_000;
      while ((await world.operations!(call.stateDir)) < ops) {
        assert.ok(child.exitCode === null, `the child ended before the platform began: ${output}`);
        assert.ok(Date.now() < deadline, `the platform never began the ${call.action}: ${output}`);
        await sleep(20);
      }
      child.kill("SIGKILL");
      await exited;
    }

    it("a deploy and a rollback killed halfway run once on the platform; the rollback target is kept", async (t) => {
      if (!world.delay || !world.operations) return t.skip(`${c.provider}'s world cannot slow its platform`);
      const stateDir = tempDir(`${c.provider}-crash`);
      const spec = await world.spec("normal", stateDir);
      const env = world.env?.(stateDir) ?? {};
      const provider = () => createProvider(Deploy.parse(spec), testOptions(db.pool, stateDir, { env }))!;
      assert.equal((await provider().deploy(request("1.0.0", "k-1:deploy"))).ok, true);
      await provider().markGood("1.0.0");
      const before = await world.operations(stateDir);

      world.delay(3000);
      const deploy = {
        spec,
        env,
        stateDir,
        action: "deploy" as const,
        version: "2.0.0",
        key: "k-2:deploy",
        timeoutMs: 15_000,
      };
      await killedDuring(deploy, before + 1);
      const again = await provider().deploy(request("2.0.0", "k-2:deploy", 15_000));
      assert.equal(again.ok, true, again.message);
      assert.equal(await world.operations(stateDir), before + 1, "one deploy on the platform");
      assert.equal(await provider().lastKnownGood(), "1.0.0", "the rollback target is kept");

      world.delay(3000);
      const rollback = { ...deploy, action: "rollback" as const, version: "1.0.0", key: "k-2:rollback" };
      await killedDuring(rollback, before + 2);
      const back = await provider().rollback(request("1.0.0", "k-2:rollback", 15_000));
      assert.equal(back.ok, true, back.message);
      assert.equal(await world.operations(stateDir), before + 2, "one rollback on the platform");
      if (world.serving) assert.equal(await world.serving(stateDir), "1.0.0");
      assert.equal((await provider().status()).version, "1.0.0");
    });
  });
}
