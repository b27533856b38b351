/** The cross-field rules, run in this order after the schema has accepted the shape. */
import type { RunbookRule } from "./context.js";
import { uniqueNames } from "./names.js";
import { approvalsPossible, decisionChoices, rolesHaveMembers } from "./people.js";
import {
  checkReferences,
  componentReferences,
  connectionDefaults,
  environmentReferences,
  metricSourceReferences,
  notifyReferences,
  roleReferences,
  signalReferences,
} from "./references.js";
import { rollbackChoicesValid } from "./rollback.js";
import { routinesValid } from "./routines.js";
import { noLiteralSecrets } from "./secrets.js";
import { commandsQuotable } from "./shell.js";
import {
  backupComplete,
  deployComplete,
  metricsReadOneValue,
  migrationsComplete,
  releaseKind,
  releasePolicy,
  rollbackPresent,
  stepsDoOneThing,
} from "./steps.js";
import { templatesValid } from "./templates.js";
import { anchorsExist, checkpointsInOrder, hoursValid, rulesCanFire, windowsValid } from "./timing.js";

export type { RuleContext, RunbookRule } from "./context.js";

export const RULES: readonly RunbookRule[] = [
  releaseKind,
  releasePolicy,
  uniqueNames,
  checkReferences,
  roleReferences,
  componentReferences,
  environmentReferences,
  metricSourceReferences,
  connectionDefaults,
  signalReferences,
  notifyReferences,
  rolesHaveMembers,
  approvalsPossible,
  decisionChoices,
  stepsDoOneThing,
  migrationsComplete,
  backupComplete,
  deployComplete,
  metricsReadOneValue,
  rollbackPresent,
  rollbackChoicesValid,
  checkpointsInOrder,
  anchorsExist,
  rulesCanFire,
  windowsValid,
  hoursValid,
  routinesValid,
  templatesValid,
  commandsQuotable,
  noLiteralSecrets,
];
