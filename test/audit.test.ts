/**
 * The audit trail through the binary: a real quickstart release, then its records tampered
 * with directly in Postgres — changed, removed, inserted, the last ones deleted after an
 * anchor — and `gantry audit verify` naming each, as well as the log of actions outside runs.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { type Database, openDatabase } from "../src/store/database.js";
import { ACTIONS_LOG } from "../src/store/event-kinds.js";
import { EventStore } from "../src/store/events.js";
import { type Workspace, workspace } from "./helpers/workspace.js";

let w: Workspace | undefined;
let db: Database | undefined;
after(async () => {
  await db?.close();
  await w?.cleanup();
});

interface Row {
  seq: number;
  key: string;
  kind: string;
}

describe("gantry audit", () => {
  it("verifies a real release's log and names each record tampered with", async () => {
    w = await workspace({ previous: "1.0.0" });
    const released = await w.gantry(["release", w.runbook, "--env", "local", "--ref", "v1.0.0", "--json"]);
    assert.equal(released.code, 0, released.stderr);
    const run = String(released.json?.run);
    // The workspace's embedded Postgres, shared with the gantry processes the test runs.
    db = await openDatabase({ dataDir: w.dataDir });
    const pool = db.pool;
    const log = async (): Promise<Row[]> =>
      (
        await pool.query<{ seq: string; key: string; kind: string }>(
          "SELECT seq, key, kind FROM gantry.events WHERE run_id = $1 ORDER BY seq",
          [run],
        )
      ).rows.map((r) => ({ seq: Number(r.seq), key: r.key, kind: r.kind }));
    const records = await log();
    assert.ok(records.length > 20, `a release writes more records than ${records.length}`);
    const verify = (...args: string[]) => w!.gantry(["audit", "verify", ...args]);
    const intact = async (why: string) => {
      const r = await verify();
      assert.equal(r.code, 0, `${why}\n${r.stdout}${r.stderr}`);
      return r;
    };

    // Untouched: every log is intact, with its head.
    let r = await intact("the untouched release");
    assert.match(r.stdout, new RegExp(`^${run}: ok: ${records.length} records, head [0-9a-f]{12}$`, "m"));
    assert.match(r.stdout, /^gantry:actions \(actions outside runs\): ok: 0 records$/m);
    assert.match(r.stdout, /^audit: all 2 logs are intact$/m);
    r = await verify(run, "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json?.ok, true);
    const anchorFile = path.join(w.dir, "anchor.json");
    r = await w.gantry(["audit", "anchor", "--file", anchorFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /anchored 2 logs/);
    const anchor = JSON.parse(fs.readFileSync(anchorFile, "utf8"));
    assert.deepEqual(
      anchor.logs.map((l: { log: string; records: number }) => [l.log, l.records]),
      [
        [run, records.length],
        [ACTIONS_LOG, 0],
      ],
    );

    // Changed: one record's data edited in place.
    const target = records.find((e) => e.kind === "step.finished")!;
    const position = records.indexOf(target) + 1;
    const saved = await pool.query<{ data: string }>(
      "SELECT data::text AS data FROM gantry.events WHERE seq = $1",
      [target.seq],
    );
    await pool.query(
      `UPDATE gantry.events SET data = jsonb_set(data, '{message}', '"all fine"') WHERE seq = $1`,
      [target.seq],
    );
    r = await verify();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^${run}: CHANGED: seq ${target.seq} \\(record ${position} of ${records.length}, step\\.finished ${target.key}, at \\d{4}-[\\d-]+T[\\d:.]+Z\\): its content no longer matches its hash$`,
        "m",
      ),
    );
    assert.match(
      r.stdout,
      /^audit: 1 of 2 logs not intact: records were changed, removed or inserted outside Gantry$/m,
    );
    r = await verify(run, "--json");
    assert.equal(r.code, 1);
    const problem = (r.json!.logs as Array<{ problem?: { type: string; record: Row } }>)[0]!.problem!;
    assert.equal(problem.type, "changed");
    assert.equal(problem.record.seq, target.seq);
    await pool.query("UPDATE gantry.events SET data = $2::jsonb WHERE seq = $1", [
      target.seq,
      saved.rows[0]!.data,
    ]);
    await intact("the record put back as it was");

    // Removed: the record after the gap is named, its predecessor missing.
    const gone = records[5]!;
    const next = records[6]!;
    const row = await pool.query("SELECT *, at::text AS at FROM gantry.events WHERE seq = $1", [gone.seq]);
    await pool.query("DELETE FROM gantry.events WHERE seq = $1", [gone.seq]);
    r = await verify(run);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^${run}: REMOVED: seq ${next.seq} \\(record 6 of ${records.length - 1}, ${next.kind.replace(".", "\\.")} ${next.key}, at [^)]+\\): the record before it is missing: the one it is chained to, at position 6 between seq ${records[4]!.seq} `,
        "m",
      ),
    );
    const g = row.rows[0]!;
    await pool.query(
      "INSERT INTO gantry.events (seq, run_id, key, at, kind, step, data, prev_hash, hash) VALUES ($1, $2, $3, $4::timestamptz, $5, $6, $7, $8, $9)",
      [g.seq, g.run_id, g.key, g.at, g.kind, g.step, g.data, g.prev_hash, g.hash],
    );
    await intact("the record put back");

    // Inserted: a row written into gantry.events directly, not by Gantry.
    const forged = await pool.query<{ seq: string }>(
      `INSERT INTO gantry.events (run_id, key, kind, data) VALUES ($1, 'approval:mallory', 'approval', '{"by":"mallory","count":1,"needed":1}') RETURNING seq`,
      [run],
    );
    r = await verify();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^${run}: INSERTED: seq ${forged.rows[0]!.seq} \\(record ${records.length + 1} of ${records.length + 1}, approval approval:mallory, .*\\): it has no hash: Gantry did not write it`,
        "m",
      ),
    );
    await pool.query("DELETE FROM gantry.events WHERE seq = $1", [forged.rows[0]!.seq]);
    await intact("the inserted record taken out");

    // Truncated: the last records deleted; only the anchor can tell.
    await pool.query(
      "DELETE FROM gantry.events WHERE seq IN (SELECT seq FROM gantry.events WHERE run_id = $1 ORDER BY seq DESC LIMIT 3)",
      [run],
    );
    await intact("a truncated chain is still a chain");
    r = await verify("--anchor", anchorFile);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^${run}: TRUNCATED: seq ${records.at(-4)!.seq} .*: it had ${records.length} records when anchored and has ${records.length - 3}: the last 3 records were removed$`,
        "m",
      ),
    );
    assert.match(r.stdout, /checked against the anchor of \d{4}-/);
    // A new anchor in its place is refused: it would vouch for the truncation.
    r = await w.gantry(["audit", "anchor", "--file", anchorFile]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /not anchoring: a log is not intact.*truncated/);
    assert.deepEqual(
      JSON.parse(fs.readFileSync(anchorFile, "utf8")),
      anchor,
      "the anchor was left as it was",
    );

    // The actions log is verified too.
    const store = new EventStore(pool);
    await store.append(ACTIONS_LOG, {
      key: "identity:ana",
      kind: "control.sent",
      data: { by: "root", role: "leads" },
    });
    r = await intact("an action appended by Gantry");
    assert.match(r.stdout, /^gantry:actions \(actions outside runs\): ok: 1 record, head [0-9a-f]{12}$/m);
    await pool.query(`UPDATE gantry.events SET data = '{"by":"root","role":"admins"}' WHERE run_id = $1`, [
      ACTIONS_LOG,
    ]);
    r = await verify();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^gantry:actions \(actions outside runs\): CHANGED: seq \d+ \(record 1 of 1, control\.sent identity:ana/m,
    );
    assert.match(r.stdout, new RegExp(`^${run}: ok:`, "m"));
    assert.equal((await verify(ACTIONS_LOG)).code, 1);

    // Usage: an anchor that is not there, a run that is not there.
    r = await verify("--anchor", path.join(w.dir, "missing.json"));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing\.json: no such file/);
    r = await verify("no-such-run");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no run no-such-run/);
  });
});
