/** Roles must have people, and approvals must be possible with the people they have. */
import type { Path } from "../diagnostics.js";
import { BEFORE_DEPLOY } from "../schema/common.js";
import type { RunbookRule } from "./context.js";

export const rolesHaveMembers: RunbookRule = (ctx) => {
  for (const [name, role] of Object.entries(ctx.runbook.roles)) {
    if (role.members.length === 0) {
      ctx.error(
        ["roles", name, "members"],
        `role \`${name}\` has no members; add at least one person under roles.${name}.members`,
      );
    }
    const seen = new Set<string>();
    role.members.forEach((m, i) => {
      if (seen.has(m))
        ctx.error(["roles", name, "members", i], `\`${m}\` is listed twice in role \`${name}\``);
      seen.add(m);
    });
  }
};

/** A go/no-go decides before the deploy; continue/roll back and complete/investigate after it. */
export const decisionChoices: RunbookRule = (ctx) => {
  ctx.runbook.decisions.forEach((d, i) => {
    const before = BEFORE_DEPLOY.includes(d.after);
    if (d.choices === "go-no-go" && !before)
      ctx.error(
        ["decisions", i, "choices"],
        `decision \`${d.name}\` is a go/no-go after ${d.after}, which is after the deploy; place it after ${BEFORE_DEPLOY.join(", ")}, or write choices: continue-rollback`,
      );
    if ((d.choices === "continue-rollback" || d.choices === "complete-investigate") && before)
      ctx.error(
        ["decisions", i, "choices"],
        `decision \`${d.name}\` comes before the deploy (after ${d.after}): there is nothing to ${d.choices === "continue-rollback" ? "roll back" : "investigate"} yet; write choices: go-no-go, or place it after the deploy`,
      );
    if (
      d.choices === "complete-investigate" &&
      !d.page &&
      !Object.values(ctx.runbook.roles).some((r) => r.onCall)
    )
      ctx.error(
        ["decisions", i, "page"],
        `decision \`${d.name}\` pages a role on "investigate": name it with page: <role>, or mark a role onCall: true`,
      );
  });
};

export const approvalsPossible: RunbookRule = (ctx) => {
  const { runbook: rb } = ctx;
  const check = (path: Path, role: string, count: number, what: string) => {
    const members = rb.roles[role]?.members.length;
    if (members !== undefined && members > 0 && count > members) {
      ctx.error(
        [...path, "count"],
        `${what} needs ${count} approvals from role \`${role}\`, which has ${members} member${members === 1 ? "" : "s"}; lower count or add members`,
      );
    }
  };
  rb.decisions.forEach((d, i) =>
    d.approvers.forEach((a, j) =>
      check(["decisions", i, "approvers", j], a.role, a.count, `decision \`${d.name}\``),
    ),
  );
  rb.checklists.forEach((c, i) =>
    c.signoff.forEach((a, j) =>
      check(["checklists", i, "signoff", j], a.role, a.count, `checklist \`${c.name}\``),
    ),
  );
  const approval = rb.rollback?.approval;
  if (approval) check(["rollback", "approval"], approval.role, approval.count, "manual rollback");
};
