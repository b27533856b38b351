/** The exit code of each refusal kind and each outcome (docs/cli.md, "Exit codes"). */
import type { Refusal, RefusalKind } from "../app/refusal.js";
import type { Outcome } from "../engine/types.js";
import { EXIT } from "../errors.js";

const REFUSAL_EXIT: Record<RefusalKind, number> = {
  "not-found": EXIT.usage,
  "not-accepted": EXIT.notAccepted,
  busy: EXIT.busy,
  blocked: EXIT.invalid,
  "window-closed": EXIT.windowClosed,
  unsupported: EXIT.unsupported,
  unauthenticated: EXIT.unauthenticated,
  forbidden: EXIT.forbidden,
};

export function exitFor(refusal: Refusal): number {
  return REFUSAL_EXIT[refusal.kind];
}

export const OUTCOME_EXIT: Record<Outcome, number> = {
  released: EXIT.ok,
  gate_failed: 4,
  rolled_back: 5,
  aborted: 6,
  failed: 7,
  postponed: 14,
};
