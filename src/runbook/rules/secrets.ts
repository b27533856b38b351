/** Secret-bearing fields should hold references, not values. */
import { Runbook } from "../schema/runbook.js";
import { metaOf, walkStrings } from "../schema-walk.js";
import { looksLikeSecret, parseSecretRef } from "../secret.js";
import type { RunbookRule } from "./context.js";

export const noLiteralSecrets: RunbookRule = (ctx) => {
  walkStrings(Runbook, ctx.raw, (text, schema, path) => {
    if (metaOf(schema)["x-gantry-secret"] !== true || parseSecretRef(text)) return;
    const why = looksLikeSecret(text);
    if (why) {
      ctx.warn(
        path,
        `this looks like a secret written into the runbook (${why}); reference it instead: env:NAME or file:PATH, or {{ secrets.<name> }}`,
      );
    }
  });
};
