/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core, against
 * `gantry server` started from the binary. A wrong token is refused at sign-in; mallory, who
 * is in no role, watches the quickstart v2 release live and is offered no Approve button;
 * bo, a lead, approves its decision from the page, with a confirmation; mallory's page then
 * shows the error rate over its threshold, the rollback, and the audit trail intact.
 * Screenshots go to test-artifacts/ (or $GANTRY_TEST_ARTIFACTS).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { ROOT } from "./helpers/paths.js";
import { type Served, served } from "./helpers/server.js";
import { events, waitFor } from "./helpers/workspace.js";

const CHROMIUM = process.env.GANTRY_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = process.env.GANTRY_TEST_ARTIFACTS ?? path.join(ROOT, "test-artifacts");

let s: Served;
let browser: Browser;
before(async () => {
  assert.ok(
    fs.existsSync(CHROMIUM),
    `no Chromium at ${CHROMIUM}: install Debian's chromium (scripts/test-servers.sh does) or set GANTRY_CHROMIUM`,
  );
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
after(async () => {
  await browser?.close();
  s?.child.kill("SIGTERM");
  await s?.w.cleanup();
});

async function signIn(token: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(s.url);
  await page.fill("#token", token);
  await page.click("#login button[type=submit]");
  return page;
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });

describe("the dashboard in Chromium", () => {
  it("signs in with a token, follows a release live, approves from the page, shows the rollback", async () => {
    s = await served([
      [
        "deploy:\n",
        "roles:\n  leads: { members: [ana, bo] }\ndecisions:\n  - name: go\n    after: gates\n    approvers: [{ role: leads }]\ndeploy:\n",
      ],
      // Long enough that the page sees the rollback while the run is live.
      ["checkpoints: [T+2s, T+8s]", "checkpoints: [T+2s, T+30s]"],
    ]);

    const wrong = await signIn("gantry_0123456789ab_bm90LWEtcmVhbC1zZWNyZXQ");
    await wrong.waitForSelector("#login .error:text-matches('token')");
    await wrong.close();

    const child = s.w.gantry(["release", s.w.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], {
      XDG_CONFIG_HOME: s.w.dir,
      GANTRY_TOKEN: s.tokens.ana!,
    });
    const run = String((await waitFor(s.w, (v) => v.status === "waiting", undefined, child)).id);

    const watcher = await signIn(s.tokens.mallory!);
    await watcher.waitForSelector(`#runs tr[data-run="${run}"]`);
    assert.equal(await watcher.textContent("#who"), "mallory");
    await watcher.click(`#runs tr[data-run="${run}"] a`);
    await watcher.waitForSelector("#waiting-what:text('decision go')");
    assert.equal(await watcher.locator("[data-action=approve]").count(), 0, "mallory is offered Approve");
    await shot(watcher, "waiting");

    const lead = await signIn(s.tokens.bo!);
    await lead.goto(`${s.url}#/runs/${encodeURIComponent(run)}`);
    await lead.click("[data-action=approve]");
    await lead.waitForSelector("#confirm[open]");
    await lead.fill("#confirm-reason", "dashboards look fine");
    await lead.click("#confirm-ok");
    await lead.waitForSelector("#confirm[open]", { state: "detached" });

    await watcher.waitForSelector(".chart[data-signal=error_rate] canvas", { timeout: 60_000 });
    await watcher.waitForSelector("#checkpoint:text-matches('rolled back')", { timeout: 60_000 });
    const latest = String(await watcher.textContent("#latest"));
    const rate = Number(/error_rate ([\d.]+)/.exec(latest)?.[1]);
    assert.ok(rate > 0.05, `the error rate shown (${latest}) is not over the 0.05 threshold`);
    await watcher.waitForSelector("#rules tr[data-rule=errors] .status.fired");
    await shot(watcher, "rollback");

    const r = await child;
    assert.equal(r.json?.outcome, "rolled_back", r.stderr);
    await watcher.waitForSelector("#run-header .status.rolled_back");
    await watcher.reload();
    await watcher.waitForSelector("#run-header .status.rolled_back");
    await watcher.waitForSelector("#audit-status .status.ok");
    await watcher.waitForSelector("#rules tr[data-rule=errors]");
    await shot(watcher, "rolled-back");

    const approval = (await events(s.w, run)).find((e) => e.kind === "approval");
    assert.deepEqual([approval?.data.by, approval?.data.comment], ["bo", "dashboards look fine"]);
    for (const page of [watcher, lead])
      assert.deepEqual((page as Page & { errors?: string[] }).errors, [], "the page threw");
  });
});
