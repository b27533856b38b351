/**
 * The command provider in the conformance suite: small shell scripts keep the "platform", a
 * file holding the version that serves ($CURRENT_FILE), and a log of every deploy and
 * rollback ($OPS_FILE). The shift script keeps the canary's share in $WEIGHT_FILE.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProviderCase } from "./conformance.js";
import { tempDir } from "./test-support.js";

export const MISSING = "gantry-no-such-command-4711";

export const conformance: ProviderCase = {
  provider: "command",
  async setup(cleanup) {
    const dir = tempDir("command-scripts");
    cleanup(() => rmSync(dir, { recursive: true, force: true }));
    const script = (name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
      return `sh ${join(dir, name)}`;
    };
    const deploy = script(
      "deploy.sh",
      `echo "deploying $1"\necho "deploy $1" >> "$OPS_FILE"\nprintf "%s\\n" "$1" > "$CURRENT_FILE"\nprintf "%s %s\\n" "$1" "\${2:-100}" > "$WEIGHT_FILE"`,
    );
    const rollback = script(
      "rollback.sh",
      `echo "rolling back to $1"\necho "rollback $1" >> "$OPS_FILE"\nprintf "%s\\n" "$1" > "$CURRENT_FILE"\nrm -f "$WEIGHT_FILE"`,
    );
    const shift = script(
      "shift.sh",
      'echo "sending $2% to $1"\nprintf "%s %s\\n" "$1" "$2" > "$WEIGHT_FILE"',
    );
    const status = script("status.sh", 'test -s "$CURRENT_FILE" || { echo "nothing deployed"; exit 1; }');
    const version = script("version.sh", 'cat "$CURRENT_FILE" 2>/dev/null || true');
    const unhealthy = script("unhealthy.sh", 'echo "0 of 3 replicas ready"; exit 1');
    const file = (stateDir: string, what: string) => `${stateDir}.${what}`;
    const serving = (stateDir: string) => {
      const f = file(stateDir, "current");
      return existsSync(f) ? readFileSync(f, "utf8").trim() || undefined : undefined;
    };

    return {
      async spec(variant) {
        return {
          provider: "command",
          deploy:
            variant === "hang"
              ? "sleep 30"
              : variant === "refused"
                ? `${MISSING} {{ release.version }}`
                : `${deploy} {{ release.version }}`,
          rollback: `${rollback} {{ release.previousVersion }}`,
          status: variant === "unhealthy" ? unhealthy : status,
          version,
          shift: `${shift} {{ release.version }} {{ canary.weight }}`,
          timeout: variant === "normal" ? "5s" : "1s",
        };
      },
      env: (stateDir) => ({
        CURRENT_FILE: file(stateDir, "current"),
        OPS_FILE: file(stateDir, "ops"),
        WEIGHT_FILE: file(stateDir, "weight"),
      }),
      expect: {
        hang: /^deploy command timed out after 1s$/,
        unhealthy:
          /^deployed 2\.0\.0, but the checks did not pass within 1s: status command failed with exit 1 \(last output: "0 of 3 replicas ready"\)$/,
        // Its deploy command does not exist, so what served was never touched.
        refused: { message: /not found/, started: false, output: MISSING },
      },
      serving: async (stateDir) => serving(stateDir),
      async operations(stateDir) {
        const f = file(stateDir, "ops");
        return existsSync(f) ? readFileSync(f, "utf8").trim().split("\n").filter(Boolean).length : 0;
      },
      async share(stateDir, v) {
        const f = file(stateDir, "weight");
        if (!existsSync(f)) return serving(stateDir) === v ? 1 : 0;
        const [version, percent] = readFileSync(f, "utf8").trim().split(" ");
        return version === v ? Number(percent) / 100 : 1 - Number(percent) / 100;
      },
    };
  },
};
