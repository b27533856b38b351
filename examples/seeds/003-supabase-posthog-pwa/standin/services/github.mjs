/**
 * The part of GitHub the team's release uses: Actions workflow dispatch and runs, and an
 * environment's secret and variable names (the runbook's inventory). Two workflows exist:
 * deploy.yml (check the app builds, then deploy the tag's version to the environment's hosting)
 * and rollback.yml (deploy `version` again). Every request needs the token as a bearer token;
 * a wrong one is a 401 that does not echo it. Runs are kept in memory.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const APP_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "app");
const REPO = "/repos/pocket-philosopher/app";

/** The build step of deploy.yml: every file of the app passes `node --check`. */
function build() {
  const files = fs.readdirSync(APP_DIR).filter((f) => f.endsWith(".mjs"));
  return Promise.all(
    files.map(
      (f) =>
        new Promise((resolve, reject) =>
          execFile(process.execPath, ["--check", path.join(APP_DIR, f)], (err, _out, stderr) =>
            err ? reject(new Error(`build: ${f}: ${stderr.trim()}`)) : resolve(`built ${f}`),
          ),
        ),
    ),
  );
}

/**
 * `token`: the accepted token; `environments`: name → {secrets: [names], variables: [names]};
 * `hosting`: name → the hosting of that environment (only the stand-in's own is hosted).
 */
export function createGithub({ token, environments, hosting }) {
  const runs = [];
  const workflows = {
    "deploy.yml": async (run) => {
      const target = hosting[run.inputs.environment];
      if (!target) throw new Error(`no hosting for environment ${run.inputs.environment}`);
      const version = run.head_branch.replace(/^v/, "");
      run.log.push(...(await build()));
      run.log.push(...(await target.deploy(version)));
    },
    "rollback.yml": async (run) => {
      const target = hosting[run.inputs.environment];
      if (!target) throw new Error(`no hosting for environment ${run.inputs.environment}`);
      if (!run.inputs.version) throw new Error("input `version` is required");
      run.log.push(...(await target.deploy(String(run.inputs.version).replace(/^v/, ""))));
    },
  };

  async function execute(run) {
    run.status = "in_progress";
    try {
      await workflows[run.path](run);
      run.conclusion = "success";
    } catch (err) {
      run.log.push(`error: ${err.message}`);
      run.conclusion = "failure";
    }
    run.status = "completed";
    run.updated_at = new Date().toISOString();
  }

  const shown = (run) => {
    const { log, inputs, ...rest } = run;
    return rest;
  };

  return http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const reply = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body === undefined ? "" : JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) {
      return reply(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const p = url.pathname;
    let m = new RegExp(`^${REPO}/actions/workflows/([^/]+)/dispatches$`).exec(p);
    if (m && req.method === "POST") {
      const name = decodeURIComponent(m[1]);
      if (!workflows[name]) return reply(404, { message: "Not Found" });
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return reply(400, { message: "Problems parsing JSON" });
      }
      if (typeof body.ref !== "string") return reply(422, { message: "ref is required" });
      const now = new Date().toISOString();
      const run = {
        id: 9000 + runs.length + 1,
        name,
        path: name,
        head_branch: body.ref,
        event: "workflow_dispatch",
        status: "queued",
        conclusion: null,
        created_at: now,
        updated_at: now,
        inputs: body.inputs ?? {},
        log: [],
      };
      runs.unshift(run);
      execute(run);
      return reply(204);
    }
    if (p === `${REPO}/actions/runs` && req.method === "GET") {
      const wf = url.searchParams.get("workflow");
      const branch = url.searchParams.get("branch");
      const list = runs.filter((r) => (!wf || r.path === wf) && (!branch || r.head_branch === branch));
      return reply(200, { total_count: list.length, workflow_runs: list.map(shown) });
    }
    m = new RegExp(`^${REPO}/actions/runs/(\\d+)(/logs)?$`).exec(p);
    if (m && req.method === "GET") {
      const run = runs.find((r) => r.id === Number(m[1]));
      if (!run) return reply(404, { message: "Not Found" });
      return reply(200, m[2] ? { lines: run.log } : shown(run));
    }
    m = new RegExp(`^${REPO}/environments/([^/]+)/(secrets|variables)$`).exec(p);
    if (m && req.method === "GET") {
      const environment = environments[decodeURIComponent(m[1])];
      if (!environment) return reply(404, { message: "Not Found" });
      const names = environment[m[2]].map((name) => ({ name, updated_at: environment.updatedAt }));
      return reply(200, { total_count: names.length, [m[2]]: names });
    }
    return reply(404, { message: "Not Found" });
  });
}
