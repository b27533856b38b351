/**
 * A stand-in for the part of the GitHub REST API the seed reads and the `gh` commands of its
 * build gate use (docs.github.com/rest/actions/workflow-runs, …/workflows#create-a-workflow-dispatch-event),
 * for the one repository ValueCanvas/ValueCanvas and its Deploy workflow (deploy.yml):
 * - GET  /repos/{owner}/{repo}/actions/workflows/{id}/runs?branch=&per_page= (newest first);
 * - POST /repos/{owner}/{repo}/actions/workflows/{id}/dispatches {"ref": "v1.4.0"}: 204, and a
 *   run for that ref: queued, in progress, then completed. It "builds and pushes the images":
 *   success for a version versions.json lists, failure ("no such tag") for any other;
 * - GET  /repos/{owner}/{repo}/actions/runs/{run_id};
 * - GET  /user (what verify-env.sh asks to check the token).
 * Every request needs `Authorization: Bearer <token>` (or `token <token>`); else 401 as GitHub.
 * The run's steps take `stepMs` each (the stand-in's timeScale shortens nothing here: a
 * workflow run is not on the release's timeline; it just is quick).
 */
import http from "node:http";
import { bearer, close, json, listen, readBody } from "./listen.mjs";

const REPO = "ValueCanvas/ValueCanvas";
const WORKFLOW = "deploy.yml";

export async function startGitHubApi({ port, token, versions, stepMs = 200 }) {
  let nextId = 9000;
  const base = `http://127.0.0.1:${port}`;
  const runOf = (branch, conclusion) => {
    const id = nextId++;
    return {
      id,
      name: "Deploy",
      path: `.github/workflows/${WORKFLOW}`,
      head_branch: branch,
      event: branch === "main" ? "push" : "workflow_dispatch",
      status: conclusion ? "completed" : "queued",
      conclusion: conclusion ?? null,
      created_at: new Date().toISOString(),
      html_url: `https://github.com/${REPO}/actions/runs/${id}`,
      url: `${base}/repos/${REPO}/actions/runs/${id}`,
    };
  };
  // The latest push to main went through the Deploy workflow green (Pre-Flight 2).
  const runs = [runOf("main", "success")];

  function dispatch(ref) {
    const run = runOf(ref);
    runs.unshift(run);
    const version = String(ref).replace(/^v(?=\d)/, "");
    setTimeout(() => {
      run.status = "in_progress";
    }, stepMs).unref();
    setTimeout(() => {
      run.status = "completed";
      run.conclusion = versions[version] ? "success" : "failure";
    }, 3 * stepMs).unref();
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", base);
    const body = await readBody(req);
    if (bearer(req) !== token)
      return json(res, 401, {
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
        status: "401",
      });
    if (req.method === "GET" && url.pathname === "/user")
      return json(res, 200, { login: "valuecanvas-release-bot" });
    const workflow = new RegExp(
      `^/repos/${REPO}/actions/workflows/${WORKFLOW.replace(".", "\\.")}/(runs|dispatches)$`,
    ).exec(url.pathname);
    if (workflow?.[1] === "runs" && req.method === "GET") {
      const branch = url.searchParams.get("branch");
      const perPage = Number(url.searchParams.get("per_page") ?? 30);
      const matching = runs.filter((r) => !branch || r.head_branch === branch);
      return json(res, 200, { total_count: matching.length, workflow_runs: matching.slice(0, perPage) });
    }
    if (workflow?.[1] === "dispatches" && req.method === "POST") {
      let ref;
      try {
        ref = JSON.parse(body).ref;
      } catch {
        // answered below
      }
      if (!ref)
        return json(res, 422, { message: 'Invalid request.\n\n"ref" wasn\'t supplied.', status: "422" });
      dispatch(ref);
      res.writeHead(204).end();
      return;
    }
    const one = new RegExp(`^/repos/${REPO}/actions/runs/(\\d+)$`).exec(url.pathname);
    const run = one && runs.find((r) => r.id === Number(one[1]));
    if (run && req.method === "GET") return json(res, 200, run);
    return json(res, 404, { message: "Not Found", status: "404" });
  });
  await listen(server, port);
  return { url: base, stop: () => close(server) };
}
