/** Rollback: a command of the team's. */

import { commandResult, DEFAULT_COMMAND_MS } from "../common.js";
import type { StepModule } from "../contract.js";

export const run: StepModule<"rollback"> = {
  kind: "rollback",
  mode: "act",
  async run(step, ctx) {
    if (step.form !== "run") throw new Error(`${step.id} is not a command`);
    return commandResult(await ctx.command(step.id, step.run, step.timeout?.ms ?? DEFAULT_COMMAND_MS));
  },
};
