#!/usr/bin/env node
/**
 * `npx playwright test [SPEC…]` and `npm run e2e`: runs the seed's Playwright specs
 * (e2e/specs/*.spec.ts, or those named) in Debian's Chromium through playwright-core, one
 * fresh browser context per test, with `baseURL` = PLAYWRIGHT_BASE_URL, or a preview of the
 * app started for the run when it is not set (the team's playwright.config webServer). Specs
 * are bundled by esbuild with `@playwright/test` resolved to playwright-test.mjs. Exit 1 when
 * a test fails.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { registered } from "./playwright-test.mjs";
import { startPreview } from "./preview.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..", "..");
const CHROMIUM = "/usr/bin/chromium";
const [command, ...named] = process.argv.slice(2);
if (command !== "test") {
  console.error("usage: playwright test [SPEC…]   (the stand-in runs tests only)");
  process.exit(2);
}
if (!fs.existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing: install Debian's chromium (sh scripts/test-servers.sh)`);
  process.exit(1);
}
const specs = named.length
  ? named
  : fs
      .readdirSync(path.join(root, "e2e", "specs"))
      .filter((f) => f.endsWith(".spec.ts"))
      .map((f) => path.join("e2e", "specs", f));

const shim = path.join(here, "playwright-test.mjs");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "pp-e2e-"));
let preview;
let browser;
let failed = 0;
try {
  for (const spec of specs) {
    const outfile = path.join(out, `${path.basename(spec, ".ts")}.mjs`);
    await build({
      entryPoints: [path.resolve(root, spec)],
      bundle: true,
      format: "esm",
      platform: "node",
      outfile,
      logLevel: "error",
      plugins: [
        {
          name: "playwright-test",
          setup(b) {
            b.onResolve({ filter: /^@playwright\/test$/ }, () => ({
              path: pathToFileURL(shim).href,
              external: true,
            }));
          },
        },
      ],
    });
    const before = registered.length;
    await import(pathToFileURL(outfile).href);
    for (const t of registered.slice(before)) t.spec = spec;
  }
  let baseURL = process.env.PLAYWRIGHT_BASE_URL;
  if (!baseURL) {
    preview = await startPreview();
    baseURL = preview.url;
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  for (const t of registered) {
    const context = await browser.newContext({ baseURL });
    const page = await context.newPage();
    const started = Date.now();
    try {
      await t.fn({ page, context, baseURL });
      console.log(`  ✓ ${t.spec} › ${t.name} (${Date.now() - started}ms)`);
    } catch (err) {
      failed++;
      console.log(
        `  ✘ ${t.spec} › ${t.name} (${Date.now() - started}ms)\n    ${String(err.message).split("\n").join("\n    ")}`,
      );
    } finally {
      await context.close();
    }
  }
  console.log(`\n  ${registered.length - failed} passed, ${failed} failed (${baseURL})`);
} catch (err) {
  failed++;
  console.error(`playwright: ${err.message}`);
} finally {
  await browser?.close();
  await preview?.stop();
  fs.rmSync(out, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
