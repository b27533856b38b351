/**
 * A stand-in for the part of the Supabase Management API (api.supabase.com/api/v1) the seed
 * reads, for one project, over the stand-in's real PostgreSQL:
 * - GET /v1/projects/{ref}: the project;
 * - GET /v1/projects/{ref}/database/backups: the backups the stand-in took with pg_dump
 *   (`backup()`, at start: "a backup completed within the last 24h"), as {backups: [{status,
 *   inserted_at, …}]};
 * - GET /v1/projects/{ref}/analytics/endpoints/logs.all?sql=…: the log query of the seed's RLS
 *   check, `select count(*) as n from postgres_logs where event_message like '<pattern>'`,
 *   answered by counting the lines of the PostgreSQL server's log that match the pattern (the
 *   server logs every statement that fails, row-level security violations included). Other
 *   SQL answers 400: only the seed's query is played.
 * Every request needs `Authorization: Bearer <access token>`; else 401.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { bearer, close, json, listen } from "./listen.mjs";

export async function startSupabaseApi({ port, token, projectRef, postgres, databaseUrl, dir }) {
  const backups = [];
  const folder = path.join(dir, "backups");
  fs.mkdirSync(folder, { recursive: true });

  /** A real pg_dump of the project's database, recorded as a completed backup. */
  function backup() {
    const at = new Date();
    const file = path.join(folder, `valuecanvas-${at.toISOString().replace(/[:.]/g, "-")}.dump`);
    execFileSync(path.join(postgres.bin, "pg_dump"), ["--format=custom", "--file", file, databaseUrl], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    backups.push({
      id: backups.length + 1,
      is_physical_backup: false,
      status: "COMPLETED",
      inserted_at: at.toISOString(),
      file: path.basename(file),
    });
  }

  function countLogs(sql) {
    const m = /^select count\(\*\) as n from postgres_logs where event_message like '([^']*)'$/i.exec(
      sql.trim(),
    );
    if (!m) return undefined;
    const pattern = new RegExp(
      `^${m[1]
        .split("%")
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/_/g, "."))
        .join(".*")}$`,
      "i",
    );
    const lines = fs.existsSync(postgres.log) ? fs.readFileSync(postgres.log, "utf8").split("\n") : [];
    return lines.filter((l) => pattern.test(l)).length;
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://supabase");
    if (bearer(req) !== token) return json(res, 401, { message: "Unauthorized" });
    const project = /^\/v1\/projects\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!project || project[1] !== projectRef) return json(res, 404, { message: "Project not found" });
    const rest = project[2] ?? "";
    if (rest === "")
      return json(res, 200, {
        id: projectRef,
        ref: projectRef,
        name: "valuecanvas",
        status: "ACTIVE_HEALTHY",
      });
    if (rest === "/database/backups")
      return json(res, 200, { region: "local", pitr_enabled: false, walg_enabled: false, backups });
    if (rest === "/analytics/endpoints/logs.all") {
      const n = countLogs(url.searchParams.get("sql") ?? "");
      if (n === undefined)
        return json(res, 400, { error: "the stand-in answers only the seed's RLS log query" });
      return json(res, 200, { result: [{ n }], error: null });
    }
    return json(res, 404, { message: "Not found" });
  });
  await listen(server, port);
  return { backup, stop: () => close(server) };
}
