#!/usr/bin/env node
// `npx snyk test --severity-threshold=high`: the security scan as the stand-in has it. It needs
// SNYK_TOKEN (checked by its sha256 against SNYK_TOKEN_SHA256, which the stand-in sets), reads the project's
// package-lock.json and fails when a package in it has a known vulnerability at or above the
// threshold in the stand-in's advisory list (standin/advisories.json).
import { createHash } from "node:crypto";
import fs from "node:fs";

const args = process.argv.slice(2);
if (args[0] !== "test") {
  process.stderr.write("snyk (RuR2 stand-in): only `snyk test [--severity-threshold=…]`\n");
  process.exit(2);
}
const order = ["low", "medium", "high", "critical"];
const threshold = /--severity-threshold=(\w+)/.exec(args.join(" "))?.[1] ?? "low";
const token = process.env.SNYK_TOKEN;
const want = process.env.SNYK_TOKEN_SHA256;
if (!token || createHash("sha256").update(token).digest("hex") !== want) {
  process.stderr.write("snyk: authentication failed (SNYK_TOKEN is missing or not valid)\n");
  process.exit(2);
}
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
const advisories = JSON.parse(
  fs.readFileSync(new URL("../advisories.json", import.meta.url), "utf8"),
).advisories;
const packages = Object.entries(lock.packages ?? {})
  .filter(([p]) => p.startsWith("node_modules/"))
  .map(([p, v]) => ({ name: p.slice(p.lastIndexOf("node_modules/") + 13), version: v.version }));
const found = packages.flatMap((p) =>
  advisories
    .filter(
      (a) =>
        a.package === p.name &&
        a.versions.includes(p.version) &&
        order.indexOf(a.severity) >= order.indexOf(threshold),
    )
    .map((a) => ({ ...a, version: p.version })),
);
process.stdout.write(
  `Testing ${process.cwd()}: ${packages.length} dependencies against ${advisories.length} advisories\n`,
);
for (const f of found)
  process.stdout.write(`✗ ${f.severity} severity: ${f.title} in ${f.package}@${f.version} (${f.id})\n`);
process.stdout.write(
  found.length
    ? `${found.length} vulnerabilities at or above ${threshold}\n`
    : `✔ no vulnerable paths found at or above ${threshold}\n`,
);
process.exit(found.length ? 1 : 0);
