/**
 * Notification figures for `npm run bench`, through the real binary and the local Slack Web
 * API server of the test suite (test/helpers/slack-api.ts), on 127.0.0.1:
 *
 * - event → message accepted: for every message of three quickstart releases (v1, v2 that
 *   rolls back, v3), from its `notify.queued` event (stamped by Postgres) to the moment the
 *   Slack server took the `chat.postMessage` (this process's clock: the same machine).
 * - a burst of 30: a rollback procedure with 30 `notify:` steps on one channel, all queued
 *   within a moment; counted at the server: none dropped, the gaps between posts, and the
 *   time from the first post to the last.
 */
import { startSlackApi } from "../test/helpers/slack-api.js";
import { QUICKSTART_INBOX, slackInbox } from "../test/helpers/workspace.js";
import type { Row } from "./engine.js";
import { type Workspace, workspace } from "./workspace.js";

const TOKEN = "xoxb-gantry-bench-token-0123456789";
const BURST = 30;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function notifyRows(): Promise<Row[]> {
  const stops: Array<() => unknown> = [];
  const spaces: Workspace[] = [];
  try {
    const slack = await startSlackApi(
      { token: TOKEN, channels: ["C0LATENCY", "C0BURST"], rateLimit: { perSecond: 1, burst: 1 } },
      (s) => stops.push(s),
    );
    const channel = (id: string) => slackInbox(id, slack.url);

    // Event → message accepted.
    const w = await workspace({ notify: true, edit: [[QUICKSTART_INBOX, channel("C0LATENCY")]] });
    spaces.push(w);
    const latencies: number[] = [];
    for (const ref of ["v1.0.0", "v2.0.0", "v3.0.0"]) {
      const r = await w.gantry(["release", w.runbook, "--env", "local", "--ref", ref, "--json"], {
        SLACK_TOKEN: TOKEN,
      });
      const run = String(r.json?.run);
      for (const e of await w.log(run)) {
        if (e.kind !== "notify.queued") continue;
        const key = `${run}.${String(e.data.message).replace(/[^A-Za-z0-9._-]/g, "_")}`;
        const posted = slack.messages.find((m) => m.metadata?.event_payload.key === key);
        if (posted) latencies.push(posted.at - Date.parse(e.at));
      }
    }

    // A burst of 30 on one channel.
    const steps = Array.from(
      { length: BURST },
      (_, i) => `    - name: tell-${i}\n      notify: burst\n      to: [inbox]\n`,
    );
    const b = await workspace({
      notify: true,
      previous: "1.0.0",
      edit: [
        [QUICKSTART_INBOX, channel("C0BURST")],
        ["  steps:\n    - revert: true\n", `  steps:\n${steps.join("")}    - revert: true\n`],
        ["  templates:\n", `  templates:\n    burst:\n      text: "Burst message {{ run.id }}"\n`],
      ],
    });
    spaces.push(b);
    const r = await b.gantry(["release", b.runbook, "--env", "local", "--ref", "v2.0.0", "--json"], {
      SLACK_TOKEN: TOKEN,
    });
    const posts = slack.messages.filter((m) => m.channel === "C0BURST").sort((x, y) => x.at - y.at);
    const burst = posts.filter((m) => String(m.metadata?.event_payload.key).includes("_rollback_tell-"));
    const gaps = posts.slice(1).map((m, i) => m.at - posts[i]!.at);
    const span = burst.length ? burst.at(-1)!.at - burst[0]!.at : Number.NaN;
    const outcome = String(r.json?.outcome);
    const command = "npm run bench (bench/notify.ts)";
    return [
      [
        `notify: event → message accepted by the local Slack server (median of ${latencies.length}, max ${Math.max(...latencies)} ms)`,
        `${median(latencies)} ms`,
        "≤ 100 ms median",
        command,
      ],
      [
        `notify: a burst of ${BURST} on one channel (${outcome}): posted, least gap between posts, first → last`,
        `${burst.length}/${BURST}, ${Math.min(...gaps)} ms, ${(span / 1000).toFixed(1)} s, ${burst.length === BURST && Math.min(...gaps) >= 1000 && span <= 35_000 ? "met" : "missed"}`,
        "none dropped, ≥ 1 s apart, within 35 s",
        command,
      ],
    ];
  } finally {
    await Promise.all(spaces.map((s) => s.cleanup()));
    for (const stop of stops.reverse()) await stop();
  }
}
