#!/usr/bin/env node
/**
 * `npm run test [-- FILE…]`: the app's tests (__tests__/*.test.ts, or the files named), as the
 * team's Jest suite runs them: TypeScript transpiled on the fly (esbuild, from the repository's
 * node_modules), run with node's test runner against a preview of the app on the preview port,
 * whose URL they get as APP_URL. The files run in one process (an entry importing each), which
 * starts in a fraction of the time one process per file takes. Exit code: the test runner's.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { transform } from "esbuild";
import { startPreview } from "./preview.mjs";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const named = process.argv.slice(2);
const files = named.length
  ? named
  : fs
      .readdirSync(path.join(root, "__tests__"))
      .filter((f) => f.endsWith(".test.ts"))
      .map((f) => path.join("__tests__", f));

const out = fs.mkdtempSync(path.join(os.tmpdir(), "pp-tests-"));
let preview;
let status = 1;
try {
  const compiled = [];
  for (const file of files) {
    const source = fs.readFileSync(path.resolve(root, file), "utf8");
    const { code } = await transform(source, { loader: "ts", format: "esm", sourcefile: file });
    const target = path.join(out, path.basename(file).replace(/\.ts$/, ".mjs"));
    fs.writeFileSync(target, code);
    compiled.push(target);
  }
  const entry = path.join(out, "all.test.mjs");
  fs.writeFileSync(entry, compiled.map((f) => `import ${JSON.stringify(pathToFileURL(f).href)};\n`).join(""));
  preview = await startPreview();
  const run = spawnSync(process.execPath, ["--test", "--test-reporter=spec", entry], {
    env: { ...process.env, APP_URL: preview.url },
    stdio: "inherit",
  });
  status = run.status ?? 1;
} catch (err) {
  console.error(`npm run test: ${err.message}`);
} finally {
  await preview?.stop();
  fs.rmSync(out, { recursive: true, force: true });
}
process.exit(status);
