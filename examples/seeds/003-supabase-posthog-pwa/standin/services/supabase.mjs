/**
 * The Supabase Management API's backup list (GET /v1/projects/{ref}/database/backups), for the
 * one project the stand-in plays. `backups()` returns what exists: the stand-in takes a real
 * pg_dump of its database when it starts. The access token is a bearer token.
 */
import http from "node:http";

export function createSupabaseApi({ token, projectRef, backups }) {
  return http.createServer((req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { message: "Unauthorized" });
    const m = /^\/v1\/projects\/([^/]+)\/database\/backups$/.exec(
      new URL(req.url ?? "/", "http://x").pathname,
    );
    if (!m || req.method !== "GET") return reply(404, { message: "Not Found" });
    if (m[1] !== projectRef) return reply(404, { message: `Project ${m[1]} not found` });
    return reply(200, { region: "local", walg_enabled: false, pitr_enabled: false, backups: backups() });
  });
}
