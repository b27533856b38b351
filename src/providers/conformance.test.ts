/**
 * The shared provider conformance suite. It finds every `<provider>.conformance.js` beside it
 * (see conformance.ts), starts the platform each one drives, and checks the contract the
 * engine relies on: deploy, status, one deploy per key, rollback, the last known good across
 * instances, clear failures for a hanging deploy, a version that never becomes healthy and a
 * deploy that cannot start, `started` telling a deploy that changed nothing, and for the
 * providers that can shift traffic, the canary: start, shift, replay, promote, roll back to
 * the stable version. A registered provider without a conformance file fails the suite.
 *
 * The provider state lives in a real (embedded) Postgres, one for the file.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it, test } from "node:test";
import { Deploy } from "../runbook/schema/flow.js";
import type { ProviderCase, ProviderWorld, Variant } from "./conformance.js";
import { createProvider, SUPPORTED_PROVIDERS } from "./index.js";
import { readState, request, type TestDatabase, tempDir, testDatabase, testOptions } from "./test-support.js";
import type { Provider } from "./types.js";

const here = import.meta.dirname;
const cases: ProviderCase[] = [];
for (const file of fs.readdirSync(here).sort()) {
  if (!file.endsWith(".conformance.js")) continue;
  const mod = (await import(path.join(here, file))) as { conformance?: ProviderCase };
  assert.ok(mod.conformance, `${file} exports no \`conformance\` case`);
  assert.equal(`${mod.conformance.provider}.conformance.js`, file, `${file} is named after its provider`);
  cases.push(mod.conformance);
}

let db: TestDatabase;
before(async () => {
  db = await testDatabase();
});
after(() => db?.close());

test("every registered provider has a conformance case", () => {
  assert.ok(SUPPORTED_PROVIDERS.length > 0);
  const covered = new Set(cases.map((c) => c.provider));
  for (const name of SUPPORTED_PROVIDERS)
    assert.ok(covered.has(name), `add src/providers/${name}.conformance.ts`);
});

for (const c of cases) {
  describe(`provider conformance: ${c.provider}`, () => {
    let world: ProviderWorld;
    const stops: Array<() => unknown> = [];
    const providers: Provider[] = [];
    before(async () => {
      world = await c.setup((stop) => stops.push(stop));
    });
    after(async () => {
      for (const provider of providers) await provider.stop();
      for (const stop of stops.reverse()) await stop();
    });

    /** A provider of `variant` for the service kept in `stateDir` (a new service when not given). */
    async function create(variant: Variant = "normal", stateDir = tempDir(`${c.provider}-state`)) {
      const spec = Deploy.parse(await world.spec(variant, stateDir));
      const provider = createProvider(
        spec,
        testOptions(db.pool, stateDir, { env: world.env?.(stateDir) ?? {} }),
      );
      assert.ok(provider, `createProvider(${c.provider})`);
      providers.push(provider);
      return { provider, stateDir };
    }

    it("deploys a version, which status then reports as serving and healthy", async () => {
      const { provider, stateDir } = await create();
      const result = await provider.deploy(request("1.0.0", "run-1:deploy"));
      assert.equal(result.ok, true, result.message);
      assert.equal(result.started, true);
      assert.equal(result.version, "1.0.0");
      assert.notEqual(result.replayed, true);
      const status = await provider.status();
      assert.equal(status.version, "1.0.0");
      assert.equal(status.healthy, true, status.message);
      if (world.serving) assert.equal(await world.serving(stateDir), "1.0.0", "the platform serves it");
    });

    it("deploys once for one key: the second call is a replay", async () => {
      const { provider, stateDir } = await create();
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
      if (world.operations) assert.equal(await world.operations(stateDir), 1, "the platform deployed once");
    });

    it("rolls back to the previous version", async () => {
      const { provider, stateDir } = await create();
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
      if (world.serving) assert.equal(await world.serving(stateDir), "1.0.0", "the platform serves it");
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
      const { provider, stateDir } = await create();
      assert.equal(await provider.lastKnownGood(), undefined);
      assert.equal((await provider.deploy(request("1.0.0", "run-5:deploy"))).ok, true);
      await provider.markGood("1.0.0");
      const { provider: again } = await create("normal", stateDir);
      assert.equal(await again.lastKnownGood(), "1.0.0");
      assert.equal((await again.status()).version, "1.0.0");
      await again.markGood("1.0.1");
      assert.equal(await provider.lastKnownGood(), "1.0.1");
      assert.equal((await readState(db.pool, stateDir)).lastKnownGood, "1.0.1");
    });

    it("gives up on a hanging deploy at its timeout", async () => {
      const { provider, stateDir } = await create("hang");
      const result = await provider.deploy(request("2.0.0", "run-6:deploy", 1000));
      assert.equal(result.ok, false);
      assert.equal(result.started, true, "the deploy ran");
      assert.match(result.message, world.expect.hang);
      assert.equal((await readState(db.pool, stateDir)).deploys.at(-1)?.result, "failed");
    });

    it("says clearly when the new version never becomes healthy", async () => {
      const { provider, stateDir } = await create("unhealthy");
      const result = await provider.deploy(request("2.0.0", "run-7:deploy", 1000));
      assert.equal(result.ok, false);
      assert.equal(result.started, true, "the deploy ran");
      assert.match(result.message, world.expect.unhealthy);
      assert.equal((await provider.status()).healthy, false);
      assert.equal((await readState(db.pool, stateDir)).deploys.at(-1)?.result, "failed");
    });

    it("says why a deploy could not start", async () => {
      const { provider } = await create("refused");
      const result = await provider.deploy(request("2.0.0", "run-8:deploy", 1000));
      assert.equal(result.ok, false);
      assert.match(result.message, world.expect.refused.message);
      const line = world.expect.refused.output;
      if (line)
        assert.ok(
          result.output?.some((l) => l.includes(line)),
          JSON.stringify(result.output),
        );
    });

    it("says started: false only when what served before still serves", async () => {
      const { provider, stateDir } = await create();
      assert.equal((await provider.deploy(request("1.0.0", "run-9:deploy"))).ok, true);
      const { provider: refused } = await create("refused", stateDir);
      const result = await refused.deploy(request("2.0.0", "run-10:deploy", 1000));
      assert.equal(result.ok, false);
      assert.equal(result.started, world.expect.refused.started, result.message);
      if (!result.started) {
        const status = await refused.status();
        assert.equal(status.version, "1.0.0", status.message);
        assert.equal(status.healthy, true, status.message);
      }
    });

    it("answers canary steps only when it can shift traffic", async () => {
      const { provider } = await create();
      if (!provider.canary) return;
      assert.ok(
        world.share,
        `${c.provider} shifts traffic: its conformance world must tell the share (share)`,
      );
    });

    it("canary: starts beside the stable version, shifts, replays, promotes", async (t) => {
      const { provider, stateDir } = await create();
      if (!provider.canary || !world.share) return t.skip(`${c.provider} cannot shift traffic`);
      const rounds = world.rounds ?? ((w: number) => w);
      assert.equal((await provider.deploy(request("1.0.0", "c-1:deploy"))).ok, true);
      await provider.markGood("1.0.0");
      const start = await provider.deploy({ ...request("2.0.0", "c-2:deploy"), weight: 0.1 });
      assert.equal(start.ok, true, start.message);
      assert.equal(start.previousVersion, "1.0.0");
      assert.ok(Math.abs((await world.share(stateDir, "2.0.0")) - rounds(0.1)) <= 0.05, "10% on the canary");

      const shift = { version: "2.0.0", weight: 0.5, key: "c-2:canary:2", timeoutMs: 5000 };
      const half = await provider.canary.shift(shift);
      assert.equal(half.ok, true, half.message);
      assert.ok(Math.abs(half.weight - rounds(0.5)) < 1e-9, `reported ${half.weight}`);
      const again = await provider.canary.shift(shift);
      assert.equal(again.ok, true, again.message);
      assert.equal(again.replayed, true, "the same key shifts once");
      assert.ok(Math.abs((await world.share(stateDir, "2.0.0")) - rounds(0.5)) <= 0.05, "50% on the canary");

      const all = await provider.canary.shift({ ...shift, weight: 1, key: "c-2:canary:3" });
      assert.equal(all.ok, true, all.message);
      assert.equal(all.weight, 1);
      assert.equal(await world.share(stateDir, "2.0.0"), 1, "promoted: all traffic");
      const status = await provider.status();
      assert.equal(status.version, "2.0.0");
      assert.equal(status.healthy, true, status.message);
    });

    it("canary: a rollback sends all traffic back to the stable version", async (t) => {
      const { provider, stateDir } = await create();
      if (!provider.canary || !world.share) return t.skip(`${c.provider} cannot shift traffic`);
      assert.equal((await provider.deploy(request("1.0.0", "c-3:deploy"))).ok, true);
      const start = await provider.deploy({ ...request("2.0.0", "c-4:deploy"), weight: 0.2 });
      assert.equal(start.ok, true, start.message);
      const back = await provider.rollback(request("1.0.0", "c-4:rollback"));
      assert.equal(back.ok, true, back.message);
      assert.equal(back.version, "1.0.0");
      assert.equal(await world.share(stateDir, "1.0.0"), 1, "all traffic on the stable version");
      assert.equal((await provider.status()).version, "1.0.0");
    });
  });
}
