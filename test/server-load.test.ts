/**
 * The HTTP API under load, bounded in count: 200 clients follow one live run over SSE while
 * 1,000 API requests (runs, the run, its events, whoami) arrive, 50 at a time. Every request
 * is answered 200, and every stream carries every event of the run, once each, in order, up
 * to run.finished. How long it took is printed, never asserted (npm run bench times the API).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { call, readStream, type Served, served } from "./helpers/server.js";
import { waitFor } from "./helpers/workspace.js";

const STREAMS = 200;
const REQUESTS = 1000;
const AT_ONCE = 50;

let s: Served | undefined;
after(async () => {
  s?.child.kill("SIGTERM");
  await s?.w.cleanup();
});

describe("the HTTP API under load", () => {
  it(`${STREAMS} SSE clients and ${REQUESTS} requests on a live run: no error, no event lost`, async () => {
    s = await served(
      [
        [
          "deploy:\n",
          "roles:\n  leads: { members: [ana, bo] }\ndecisions:\n  - name: go\n    after: gates\n    approvers: [{ role: leads }]\ndeploy:\n",
        ],
      ],
      ["--max-requests", "100000"],
    );
    const live = s;
    const child = live.w.gantry(["release", live.w.runbook, "--env", "local", "--ref", "v3.0.0", "--json"], {
      XDG_CONFIG_HOME: live.w.dir,
      GANTRY_TOKEN: live.tokens.ana!,
    });
    const run = String((await waitFor(live.w, (v) => v.status === "waiting", undefined, child)).id);

    const started = Date.now();
    const streams = Array.from({ length: STREAMS }, (_, i) =>
      readStream(live, run, i % 2 ? live.tokens.bo! : live.tokens.mallory!),
    );
    await Promise.all(streams.map((st) => st.opened));

    const paths = [`/api/runs`, `/api/runs/${run}`, `/api/runs/${run}/events`, "/api/whoami"];
    const statuses = new Map<number, number>();
    let next = 0;
    const approveAt = Math.floor(REQUESTS / 2);
    const lane = async () => {
      for (;;) {
        const n = next++;
        if (n >= REQUESTS) return;
        if (n === approveAt) {
          // Half-way, the decision is taken: the rest of the run happens under load.
          const ok = await call(live, "POST", `/api/runs/${run}/approve`, live.tokens.bo, {});
          assert.equal(ok.status, 200, ok.text);
        }
        const r = await call(live, "GET", paths[n % paths.length]!, live.tokens.mallory);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: AT_ONCE }, lane));
    assert.deepEqual([...statuses], [[200, REQUESTS]], `statuses: ${JSON.stringify([...statuses])}`);

    const r = await child;
    assert.equal(r.json?.outcome, "released", r.stderr);
    const got = await Promise.all(streams.map((st) => st.done));
    const log = (await call(live, "GET", `/api/runs/${run}/events`, live.tokens.ana))
      .json as unknown as Array<{
      seq: number;
      kind: string;
    }>;
    const end = log.findIndex((e) => e.kind === "run.finished");
    const expected = log.slice(0, end + 1).map((e) => e.seq);
    for (const [i, events] of got.entries())
      assert.deepEqual(
        events.map((e) => e.id),
        expected,
        `stream ${i} skipped, repeated or reordered an event`,
      );
    process.stdout.write(
      `# ${STREAMS} streams × ${expected.length} events and ${REQUESTS} requests in ${Date.now() - started} ms\n`,
    );
  });
});
