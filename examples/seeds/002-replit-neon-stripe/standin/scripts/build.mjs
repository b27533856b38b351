// `npm run build`: RuR2's build as the stand-in has it: every module of the App and of the
// team's scripts must parse (node --check), and its data files must be valid JSON.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = new URL("..", import.meta.url).pathname;
const files = (dir) =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
let count = 0;
for (const file of files(root)) {
  if (file.endsWith(".mjs")) execFileSync(process.execPath, ["--check", file], { stdio: "inherit" });
  else if (file.endsWith(".json")) JSON.parse(fs.readFileSync(file, "utf8"));
  else continue;
  count++;
}
process.stdout.write(`build: ${count} files checked\n`);
