/**
 * `gantry release FILE --env NAME --ref REF`. This version has no engine yet: it validates,
 * plans, and then refuses plainly, naming every section it cannot execute. It never runs
 * a part of a release while silently skipping another.
 */
import { EXECUTABLE } from "../capabilities.js";
import { EXIT, ExitError } from "../errors.js";
import { VERSION } from "../version.js";
import { err, json } from "./output.js";
import { loadAndPlan, type PlanCommandOptions } from "./plan.js";

export function release(file: string, options: PlanCommandOptions): void {
  const plan = loadAndPlan(file, options);
  const sections = plan.notExecutable;
  const reason =
    sections.length > 0
      ? `gantry ${VERSION} cannot execute these sections of ${file} yet: ${sections.join(", ")}. Nothing was run.`
      : `gantry ${VERSION} has no release engine yet. Nothing was run.`;
  if (options.json) {
    json({
      outcome: "not_executed",
      reason,
      notExecutable: sections,
      executable: [...EXECUTABLE],
      blockers: plan.blockers,
    });
  } else {
    err(reason);
    err(
      `See what a release would do: gantry plan ${file} --env ${plan.environment}${plan.ref ? ` --ref ${plan.ref.ref}` : ""}`,
    );
  }
  throw new ExitError(EXIT.unsupported);
}
