/**
 * The team's CI as the stand-in plays it ("CI is green", Deployment 1): one workflow, run on
 * demand against this folder: every app file parses (`node --check`) and every migration has
 * its rollback script. `gh run list` (standin/bin/gh) reads its runs through the platform API.
 */
import { execFile, execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";

export function createCi(seedDir) {
  const appDir = path.join(seedDir, "standin", "app");
  const migrations = path.join(seedDir, "migrations");

  async function problems() {
    const found = [];
    const sources = readdirSync(appDir).filter((f) => f.endsWith(".mjs"));
    const parses = (file) =>
      new Promise((resolve) =>
        execFile(process.execPath, ["--check", path.join(appDir, file)], (err) => resolve(!err)),
      );
    const results = await Promise.all(sources.map(parses));
    for (const [i, ok] of results.entries()) if (!ok) found.push(`app/${sources[i]} does not parse`);
    const files = readdirSync(migrations, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".sql"));
    for (const file of files.filter((f) => !f.endsWith("_rollback.sql"))) {
      if (!files.includes(file.replace(/\.sql$/, "_rollback.sql")))
        found.push(`${file} has no rollback script`);
    }
    return found;
  }

  /** A commit named must exist in the repository; an empty one means the working tree. */
  function known(commit) {
    if (!commit) return true;
    try {
      execFileSync("git", ["cat-file", "-e", `${commit}^{commit}`], { cwd: seedDir, stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  }

  return {
    async runs(commit) {
      if (!known(commit)) return [];
      const failed = await problems();
      return [
        {
          name: "ci",
          headSha: commit,
          status: "completed",
          conclusion: failed.length ? "failure" : "success",
          displayTitle: failed.length ? failed.join("; ") : "app parses, every migration has its rollback",
        },
      ];
    },
  };
}
