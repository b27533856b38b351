/**
 * The quickstart grown into a runbook that uses every kind of state a later step needs: a
 * login smoke test whose token a second smoke test sends (captures), an expand migration
 * applied before the deploy with its down script as a rollback step, a decision a person
 * approves after T+2s while monitoring goes on, and a rollback procedure of three steps.
 */
import fs from "node:fs";
import path from "node:path";
import { type Workspace, workspace } from "./workspace.js";

const SMOKE = `smoke:
  - name: login
    type: http
    method: POST
    url: "{{ env.url }}/api/login"
    capture: { token: $.token }
  - name: me
    type: http
    url: "{{ env.url }}/api/me"
    headers: { Authorization: "Bearer {{ captures.token }}" }
`;

const SECTIONS = `roles:
  captain: { members: [capt] }
migrations:
  dir: migrations
decisions:
  - name: go-on
    after: T+2s
    approvers: [{ role: captain }]
`;

const ROLLBACK = `rollback:
  target: 30s
  steps:
    - revert: true
    - name: schema-back
      migrations: down
    - name: healthy-again
      check: health
`;

export const FULL_MIGRATIONS: Record<string, string> = {
  "0001_notes.sql":
    "-- expand: the new release keeps notes\nCREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);\n",
  "0001_notes_rollback.sql": "DROP TABLE notes;\n",
};

/** A workspace with the full runbook; its environment's database is `APP_DATABASE_URL`. */
export async function fullWorkspace(edit: Array<[string | RegExp, string]> = []): Promise<Workspace> {
  const w = await workspace({
    previous: "1.0.0",
    edit: [
      [/( {4}url: http:\/\/127\.0\.0\.1:\d+\n)/, "$1    database:\n      url: env:APP_DATABASE_URL\n"],
      [/smoke:\n[\s\S]*?\nmonitor:/, `${SECTIONS}${SMOKE}\nmonitor:`],
      [/rollback:\n[\s\S]*?\n\n/, `${ROLLBACK}\n`],
      ...edit,
    ],
  });
  for (const [name, text] of Object.entries(FULL_MIGRATIONS)) {
    const file = path.join(w.dir, "migrations", name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return w;
}
