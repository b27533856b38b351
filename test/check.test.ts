/**
 * `gantry check` end to end, through the real binary: the quickstart service checked live (a
 * passing and a failing check, with reasons), parity between two environments served by
 * local inventory endpoints, and drift with its config structure kept in embedded Postgres.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { stopServer } from "../src/store/embedded.js";
import { gantryAsync as gantry, type RunResult } from "./helpers/run.js";
import { type Workspace, workspace } from "./helpers/workspace.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A JSON endpoint on loopback whose answer a test can change. */
async function inventoryServer(body: () => unknown): Promise<string> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-check-"));
  fs.chmodSync(dir, 0o755);
  cleanups.push(async () => {
    await stopServer(path.join(dir, ".gantry", "postgres"));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe("gantry check", { concurrency: 3 }, () => {
  it("against the quickstart service: a passing and a failing check, each with its reason", async () => {
    const w: Workspace = await workspace();
    cleanups.push(() => w.cleanup());
    const service = spawn(process.execPath, ["service.mjs"], {
      cwd: w.dir,
      env: { ...process.env, VERSION: "2.0.0", PORT: String(w.port), DEFECT_AFTER_MS: "0" },
      stdio: "ignore",
    });
    cleanups.push(() => service.kill("SIGKILL"));
    let r: RunResult | undefined;
    for (let i = 0; i < 50; i++) {
      r = await gantry(["check", w.runbook, "--env", "local"], w.dir);
      if (!/connection refused/.test(r.stdout)) break;
      await sleep(200);
    }
    assert.equal(r!.code, 4, r!.stderr + r!.stdout);
    assert.match(r!.stdout, /quickstart → local: 2 of 3 checks passed/);
    assert.match(r!.stdout, /^health\s+http\s+200\s+status 200 \+ 1 body assertion\(s\)\s+ok$/m);
    assert.match(r!.stdout, /^ready\s+http\s+200\s+.*FAILED$/m);
    assert.match(r!.stdout, /^ready: .*\$\.status is "not_ready", expected == ready/m);
    assert.match(r!.stdout, /^port\s+tcp\s+\d+\s+accepts connections\s+ok$/m);

    const one = await gantry(["check", w.runbook, "--env", "local", "health", "--json"], w.dir);
    assert.equal(one.code, 0, one.stderr);
    const [health] = JSON.parse(one.stdout) as Array<Record<string, unknown>>;
    assert.equal(health!.check, "health");
    assert.equal(health!.phase, "successful");
    assert.equal(health!.value, 200);

    const typo = await gantry(["check", w.runbook, "--env", "local", "helth"], w.dir);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /no check helth; did you mean health\?/);
  });

  it("parity: a score, every difference classified, and go / review / no-go", async () => {
    const staging = {
      node: "20.11.1",
      dependencies: { react: "18.3.1", stripe: "14.0.0", pino: "9.0.0" },
      env: { DATABASE_URL: "postgres://staging-secret@db/app", STRIPE_KEY: "sk_test_staging", DEBUG: "1" },
    };
    let production = {
      node: "20.11.1",
      dependencies: { react: "18.3.1", stripe: "14.0.0", pino: "9.1.0" },
      env: { DATABASE_URL: "postgres://prod-secret@db/app", STRIPE_KEY: "sk_live_prod" },
    };
    const stagingUrl = await inventoryServer(() => staging);
    const productionUrl = await inventoryServer(() => production);
    const dir = tempDir();
    const file = path.join(dir, "runbook.yaml");
    fs.writeFileSync(
      file,
      `apiVersion: gantry/v1
metadata: { name: parity, service: shop }
environments:
  staging:
    url: ${stagingUrl}
    inventory: { url: "{{ env.url }}/version", dependencies: $.dependencies, runtime: $.node, keys: $.env }
  production:
    url: ${productionUrl}
    inventory: { url: "{{ env.url }}/version", dependencies: $.dependencies, runtime: $.node, keys: $.env }
deploy: { provider: command, deploy: "true", rollback: "true" }
parity:
  with: staging
  compare: [dependencies, runtime, keys]
  acceptable: [keys.DEBUG, dependencies.pino]
`,
    );
    const go = await gantry(["check", file, "--env", "production", "parity"], dir);
    assert.equal(go.code, 0, go.stderr + go.stdout);
    assert.match(
      go.stdout,
      /parity staging ↔ production: 100% of 7 items \(go; go ≥ 90%, no-go < 80%\); 2 acceptable/,
    );
    for (const secret of ["staging-secret", "prod-secret", "sk_test_staging", "sk_live_prod"]) {
      assert.ok(!go.stdout.includes(secret), `a configuration value shows: ${secret}`);
    }

    production = {
      ...production,
      node: "22.1.0",
      dependencies: { ...production.dependencies, react: "19.0.0" },
    };
    const noGo = await gantry(["check", file, "--env", "production", "parity", "--json"], dir);
    assert.equal(noGo.code, 4, noGo.stderr);
    const [result] = JSON.parse(noGo.stdout) as Array<{
      value: number;
      phase: string;
      detail: { verdict: string; differences: Array<{ item: string; sides: string[]; acceptable: boolean }> };
    }>;
    assert.equal(result!.phase, "failed");
    assert.equal(result!.value, 71.4);
    assert.equal(result!.detail.verdict, "no-go");
    assert.deepEqual(
      result!.detail.differences.map((d) => [d.item, d.sides.join(" vs "), d.acceptable]),
      [
        ["dependencies.pino", "9.0.0 vs 9.1.0", true],
        ["dependencies.react", "18.3.1 vs 19.0.0", false],
        ["keys.DEBUG", "present vs missing", true],
        ["runtime", "20.11.1 vs 22.1.0", false],
      ],
    );
  });

  it("drift: secrets set, keys present, and the config structure compared with the accepted one", async () => {
    let config: Record<string, unknown> = { pool: { max: 10 }, features: { search: true } };
    const url = await inventoryServer(() => ({
      env: { DATABASE_URL: "postgres://u:pw-not-shown@db/app", STRIPE_KEY: "sk_live_x" },
      config,
    }));
    const dir = tempDir();
    const file = path.join(dir, "runbook.yaml");
    fs.writeFileSync(
      file,
      `apiVersion: gantry/v1
metadata: { name: drift, service: shop }
secrets:
  stripe: env:GANTRY_TEST_STRIPE
environments:
  production:
    url: ${url}
    inventory: { url: "{{ env.url }}/inventory", keys: $.env, config: $.config }
deploy: { provider: command, deploy: "true", rollback: "true" }
drift:
  keys: [DATABASE_URL, STRIPE_KEY]
  config: true
`,
    );
    const env = { GANTRY_TEST_STRIPE: "sk_live_value_never_shown" };
    const args = ["check", file, "--env", "production", "drift", "--data-dir", path.join(dir, ".gantry")];
    const first = await gantry(args, dir, env);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    assert.match(
      first.stdout,
      /no drift in production: 1 secrets set, 2 expected keys present, config structure \w+ recorded \(first check\)/,
    );

    config = { pool: { max: 10, idleTimeout: 30 }, features: {} };
    const changed = await gantry(args, dir, env);
    assert.equal(changed.code, 4, changed.stderr + changed.stdout);
    assert.match(
      changed.stdout,
      /config structure changed since .* \(accepted by first check\): added pool\.idleTimeout:number; removed features\.search:boolean/,
    );

    // Accepting drift is an act: once identities exist, it needs a token.
    const added = await gantry(
      ["users", "add", "ana", "--json", "--data-dir", path.join(dir, ".gantry")],
      dir,
      {},
    );
    assert.equal(added.code, 0, added.stderr);
    const token = String((JSON.parse(added.stdout) as { token: string }).token);
    const anonymous = await gantry([...args, "--accept-drift"], dir, env);
    assert.equal(anonymous.code, 12, anonymous.stderr + anonymous.stdout);
    const accepted = await gantry([...args, "--accept-drift"], dir, { ...env, GANTRY_TOKEN: token });
    assert.equal(accepted.code, 0, accepted.stderr + accepted.stdout);
    assert.match(accepted.stdout, /config structure \w+ accepted by ana/);
    const after = await gantry(args, dir, env);
    assert.equal(after.code, 0);

    const unset = await gantry(args, dir, {});
    assert.equal(unset.code, 4);
    assert.match(unset.stdout, /secrets not set: stripe \(env:GANTRY_TEST_STRIPE\)/);
    for (const r of [first, changed, accepted, unset]) {
      for (const value of ["sk_live_value_never_shown", "pw-not-shown", "sk_live_x"]) {
        assert.ok(!r.stdout.includes(value) && !r.stderr.includes(value), `a value shows: ${value}`);
      }
    }
  });
});
