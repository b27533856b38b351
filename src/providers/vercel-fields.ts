/**
 * The vercel provider's fields as the API wants them: a rendered template read back as plain
 * text, the `gitSource` of a deployment to create, and whether a deployment was built for the
 * spec's target.
 */
import type { VercelDeployment } from "./vercel-api.js";

/**
 * A rendered field read back as one POSIX shell word: '…' and "…" are unquoted and \x
 * escapes undone, so `'dateplan.example.com'` or `v'1.4.2'` give the plain text. Text with
 * an unbalanced quote is returned as it is.
 */
export function shellText(word: string): string {
  let out = "";
  let i = 0;
  while (i < word.length) {
    const c = word[i]!;
    if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) return word;
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < word.length && word[i] !== '"') {
        if (word[i] === "\\" && i + 1 < word.length && '\\"$`'.includes(word[i + 1]!)) {
          out += word[i + 1];
          i += 2;
        } else out += word[i++];
      }
      if (i >= word.length) return word;
      i++;
    } else if (c === "\\" && i + 1 < word.length) {
      out += word[i + 1];
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * POST /v13/deployments' `gitSource` for a repository: github by owner/name ({org, repo}) or
 * numeric ID ({repoId}), gitlab by project ID ({projectId}), bitbucket by workspace/slug
 * ({owner, slug}); and how it reads in a line.
 */
export function gitSource(
  provider: "github" | "gitlab" | "bitbucket",
  repo: string,
  ref: string,
  sha: string,
): { source: Record<string, unknown>; from: string } {
  const [owner, name] = repo.split("/", 2);
  let source: Record<string, unknown>;
  if (provider === "github")
    source = /^\d+$/.test(repo)
      ? { type: "github", repoId: Number(repo), ref }
      : { type: "github", org: owner, repo: name ?? "", ref };
  else if (provider === "gitlab") source = { type: "gitlab", projectId: repo, ref };
  else source = { type: "bitbucket", owner, slug: name ?? "", ref };
  if (sha) source.sha = sha;
  return { source, from: `${provider} ${repo}@${ref}${sha ? ` (${sha.slice(0, 12)})` : ""}` };
}

/** Whether a deployment was built for `target` (preview: one without a target). */
export function forTarget(d: VercelDeployment, target: string): boolean {
  return target === "preview" ? !d.target || d.target === "preview" : d.target === target;
}
