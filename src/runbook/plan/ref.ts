/** Which ref is released and what version it is, checked against the runbook's release policy. */
import picomatch from "picomatch";
import type { EnvironmentSpec as Environment, Runbook } from "../schema/runbook.js";

export interface RefInfo {
  /** The ref as given (tag or commit), or the pinned commit. */
  ref: string;
  kind: "tag" | "commit";
  version: string;
  rc: boolean;
}

export type RefResult = { ok: true; info: RefInfo | undefined } | { ok: false; problem: string };

/** Example: with `release.tags: v*`, `resolveRef(rb, env, "v2.1.0")` → version `2.1.0`. */
export function resolveRef(
  runbook: Runbook,
  envName: string,
  env: Environment,
  ref: string | undefined,
): RefResult {
  const policy = runbook.release;
  if (policy.commit) {
    if (ref !== undefined && !policy.commit.startsWith(ref) && !ref.startsWith(policy.commit)) {
      return {
        ok: false,
        problem: `ref \`${ref}\` is not the pinned commit ${policy.commit} (release.commit)`,
      };
    }
    return {
      ok: true,
      info: { ref: policy.commit, kind: "commit", version: policy.commit.slice(0, 12), rc: false },
    };
  }
  if (ref === undefined) return { ok: true, info: undefined };
  const bad = refNameProblem(ref);
  if (bad) return { ok: false, problem: bad };
  const version = policy.versionFrom === "tag" ? ref.replace(/^v(?=\d)/, "") : ref;
  if (policy.rc && picomatch.isMatch(ref, policy.rc)) {
    if (!env.allowRc) {
      return {
        ok: false,
        problem: `\`${ref}\` is a release candidate (release.rc: ${policy.rc}); environment \`${envName}\` does not accept candidates (set allowRc: true to allow)`,
      };
    }
    return { ok: true, info: { ref, kind: "tag", version, rc: true } };
  }
  if (policy.tags && picomatch.isMatch(ref, policy.tags))
    return { ok: true, info: { ref, kind: "tag", version, rc: false } };
  if (policy.allowCommits && /^[0-9a-f]{7,40}$/.test(ref)) {
    return { ok: true, info: { ref, kind: "commit", version: ref.slice(0, 12), rc: false } };
  }
  const allowed = [
    policy.tags && `release.tags: ${policy.tags}`,
    policy.rc && `release.rc: ${policy.rc}`,
    policy.allowCommits && "a commit SHA (release.allowCommits)",
  ].filter(Boolean);
  return { ok: false, problem: `ref \`${ref}\` does not match ${allowed.join(" or ")}` };
}

/** The characters a ref may hold: letters, digits and `.`, `_`, `-`, `+`, `/` — nothing a shell reads as syntax. */
const REF_CHARS = /^[A-Za-z0-9._+/-]$/;

/**
 * Why a ref cannot be released, or undefined: git's rules for ref names (check-ref-format)
 * and a character set with no shell metacharacters, checked before anything runs. Example:
 * `refNameProblem("v1$(id)")` → "ref `v1$(id)`: character `$` (position 3) is not allowed; …".
 */
export function refNameProblem(ref: string): string | undefined {
  const shown = JSON.stringify(ref).slice(1, -1);
  if (ref === "") return "ref is empty: say what to release, e.g. --ref v1.2.0";
  if (ref.length > 255) return `ref is ${ref.length} characters long; at most 255`;
  const chars = [...ref];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (!REF_CHARS.test(c)) {
      const name = /\s/.test(c) ? JSON.stringify(c) : `\`${c}\``;
      return `ref \`${shown}\`: character ${name} (position ${i + 1}) is not allowed; a ref holds letters, digits and . _ - + / only`;
    }
  }
  const why = [
    [
      ref.startsWith("/") || ref.endsWith("/") || ref.includes("//"),
      "it starts or ends with `/`, or has `//`",
    ],
    [ref.includes(".."), "it has `..`"],
    [
      ref.split("/").some((p) => p.startsWith(".") || p.endsWith(".lock")),
      "a part starts with `.` or ends with `.lock`",
    ],
    [ref.endsWith("."), "it ends with `.`"],
    [ref.startsWith("-"), "it starts with `-` (it would read as an option)"],
  ] as const;
  for (const [broken, text] of why)
    if (broken) return `ref \`${shown}\` is not a valid git ref name: ${text}`;
  return undefined;
}
