/**
 * `npm run lint` for the stand-in's app: every module parses as an ES module (esbuild's parser,
 * in this one process: a `node --check` per file costs a second each on a busy machine), and
 * the stand-in's lists agree with each other: each version in defects.json and each release in releases.json
 * has a prebuilt deployment, and exactly one release expects a rollback.
 */
import fs from "node:fs";
import path from "node:path";
import { transformSync } from "esbuild";
import { DEPLOYMENTS } from "../layout.mjs";

const standin = new URL("..", import.meta.url).pathname;
const problems = [];
const modules = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    return e.isDirectory() ? modules(file) : e.name.endsWith(".mjs") ? [file] : [];
  });
for (const file of modules(standin)) {
  try {
    transformSync(fs.readFileSync(file, "utf8"), { loader: "js", format: "esm", sourcefile: file });
  } catch (err) {
    for (const e of err.errors ?? [{ text: err.message }]) {
      problems.push(`${path.relative(standin, file)}:${e.location?.line ?? "?"}: ${e.text}`);
    }
  }
}
const versions = new Set(DEPLOYMENTS.map((d) => d.version));
const defects = JSON.parse(fs.readFileSync(path.join(standin, "defects.json"), "utf8"));
for (const version of Object.keys(defects).filter((k) => !k.startsWith("$"))) {
  if (!versions.has(version)) problems.push(`defects.json: ${version} has no deployment in layout.mjs`);
}
const { releases } = JSON.parse(fs.readFileSync(path.join(standin, "releases.json"), "utf8"));
for (const r of releases) {
  if (!versions.has(r.ref.replace(/^v/, "")))
    problems.push(`releases.json: ${r.ref} has no deployment in layout.mjs`);
}
if (releases.filter((r) => r.expect === "rolled_back").length !== 1) {
  problems.push("releases.json: exactly one release must expect rolled_back");
}
for (const p of problems) process.stderr.write(`lint: ${p}\n`);
process.stdout.write(`lint: ${modules(standin).length} modules, ${problems.length} problem(s)\n`);
process.exit(problems.length ? 1 : 0);
