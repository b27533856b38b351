#!/usr/bin/env node
/**
 * `npm run lint`: Biome (the repository's) over the stand-in's code with the seed's settings
 * (standin/biome-lint.json), then `node --check` on the scripts Biome does not read (bin/gh).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);
const biome = path.join(path.dirname(require.resolve("@biomejs/biome/package.json")), "bin", "biome");
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: "inherit" }).status ?? 1;

const lint = run(process.execPath, [biome, "check", "--config-path", "standin/biome-lint.json", "."]);
const gh = run(process.execPath, ["--check", "standin/bin/gh"]);
if (lint === 0 && gh === 0) console.log("lint: clean");
process.exit(lint || gh);
