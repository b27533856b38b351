// The part of Neon's API the runbook's neonctl commands use, over the stand-in's Postgres:
// a branch is a pg_dump of the database taken when the branch is created, and restoring the
// main branch to a branch replaces its schema with that dump (after keeping the current state as another branch
// when asked, as --preserve-under-name does). Every call needs the project's API key (Bearer).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

const sha256 = (v) => createHash("sha256").update(v).digest("hex");

export function neonServer({ dir, projectId, apiKeySha256, databaseUrl, pgBin, log }) {
  fs.mkdirSync(dir, { recursive: true });
  const index = path.join(dir, "branches.json");
  const branches = () => (fs.existsSync(index) ? JSON.parse(fs.readFileSync(index, "utf8")) : []);
  const save = (list) => fs.writeFileSync(index, `${JSON.stringify(list, null, 2)}\n`);
  const dumpTo = (name) => {
    const file = path.join(dir, `${name.replace(/[^A-Za-z0-9._-]/g, "_")}.sql`);
    execFileSync(path.join(pgBin, "pg_dump"), ["--no-owner", "--file", file, databaseUrl], { stdio: "pipe" });
    return file;
  };
  const add = (name, parent, file) => {
    const branch = {
      id: `br-${sha256(name).slice(0, 12)}`,
      name,
      parent_id: parent,
      created_at: new Date().toISOString(),
      file: path.basename(file),
    };
    save([...branches().filter((b) => b.name !== name), branch]);
    return branch;
  };
  if (!branches().some((b) => b.name === "main"))
    save([{ id: "br-main", name: "main", created_at: new Date().toISOString() }]);

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const send = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!key || sha256(key) !== apiKeySha256) return send(401, { code: "", message: "authorization failed" });
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const m = /^\/api\/v2\/projects\/([^/]+)\/branches(?:\/([^/]+)\/restore)?$/.exec(url.pathname);
    if (!m || m[1] !== projectId) return send(404, { message: "project not found" });
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {};
    try {
      if (req.method === "GET" && !m[2]) return send(200, { branches: branches() });
      if (req.method === "POST" && !m[2]) {
        const name = body.branch?.name;
        if (!name) return send(400, { message: "branch.name is required" });
        const branch = add(name, body.branch.parent_id ?? "br-main", dumpTo(name));
        log(`neon: branch ${name} created`);
        return send(201, { branch });
      }
      if (req.method === "POST" && m[2]) {
        const source = branches().find(
          (b) => b.id === body.source_branch_id || b.name === body.source_branch_id,
        );
        if (!source?.file) return send(404, { message: `branch ${body.source_branch_id} not found` });
        if (body.preserve_under_name)
          add(body.preserve_under_name, "br-main", dumpTo(body.preserve_under_name));
        // A restore replaces the whole branch: everything in it now goes (tables created since
        // the backup too), then the dump comes back, in one transaction.
        execFileSync(
          path.join(pgBin, "psql"),
          [
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-c",
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public;",
            "-f",
            path.join(dir, source.file),
            databaseUrl,
          ],
          { stdio: "pipe" },
        );
        log(`neon: main restored to ${source.name}`);
        return send(200, { branch: branches().find((b) => b.name === "main"), restored_from: source.name });
      }
    } catch (e) {
      return send(500, { message: String(e.stderr ?? e.message).slice(0, 500) });
    }
    send(405, { message: "method not allowed" });
  });
  return { server };
}
