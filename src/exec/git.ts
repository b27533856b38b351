/** What git says about the runbook's repository. */
import { execFileSync } from "node:child_process";

/** The commit a ref names in the runbook's git repository, when there is one. */
export function gitSha(cwd: string, ref: string): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
      cwd,
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5000,
    })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}
