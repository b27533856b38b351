/**
 * The vercel provider's fields as the API wants them: the `gitSource` of a deployment to
 * create, and whether a deployment was built for the spec's target.
 */
import type { VercelDeployment } from "./vercel-api.js";
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
