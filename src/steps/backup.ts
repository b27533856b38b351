/** The backup before the deploy: runs the backup command, records the backup's id, time and size. */
import fs from "node:fs";
import path from "node:path";
import { describeEnd } from "../exec/command.js";
import { formatBytes, guarded, LONG_COMMAND_MS, lastLine, lastLines } from "./common.js";
import type { BackupInfo, StepModule } from "./contract.js";

export const backup: StepModule<"backup"> = {
  kind: "backup",
  mode: "act",
  run: (step, ctx) =>
    guarded(ctx, async () => {
      const b = step.backup;
      const file = b.file ? ctx.render(b.file, "backup.file") : undefined;
      const result = await ctx.command(step.id, b.run!, LONG_COMMAND_MS);
      if (result.exitCode !== 0 || result.timedOut)
        return { ok: false, message: `${describeEnd(result)}${lastLines(result.output)}` };
      const at = new Date().toISOString();
      let bytes: number | undefined;
      if (file) {
        try {
          bytes = fs.statSync(path.resolve(ctx.cwd, file)).size;
        } catch {
          return { ok: false, message: `the backup command succeeded but wrote no ${file}` };
        }
      }
      const id = file ?? lastLine(result.stdout) ?? `backup of run ${ctx.runId}`;
      const info: BackupInfo = {
        id,
        at,
        ...(file ? { file } : {}),
        ...(bytes !== undefined ? { bytes } : {}),
      };
      return {
        ok: true,
        message: `backup ${id} taken at ${at}${bytes !== undefined ? `, ${formatBytes(bytes)}` : ""}`,
        data: { backup: info },
        facts: { backup: info },
      };
    }),
  // A backup that is not required may fail; the release goes on without one.
  onFail: (step, r) =>
    step.backup.required
      ? { to: "finish", outcome: "failed", reason: `backup failed: ${r.message}; nothing was deployed` }
      : { to: "continue" },
};
