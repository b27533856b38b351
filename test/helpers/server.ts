/**
 * `gantry server` on a test workspace: identities ana (the administrator), bo and mallory,
 * each with a token, and the server started from the binary on a free port.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { type Workspace, workspace } from "./workspace.js";

export interface Served {
  url: string;
  tokens: Record<string, string>;
  w: Workspace;
  child: ChildProcess;
}

export async function served(
  edit: Array<[string, string]> = [],
  extra: string[] = [],
  /** Let POST /api/releases start the workspace's runbook. */
  releases = false,
): Promise<Served> {
  const w = await workspace({ previous: "1.0.0", edit });
  const home = { XDG_CONFIG_HOME: w.dir };
  const tokens: Record<string, string> = {};
  for (const name of ["ana", "bo", "mallory"]) {
    const r = await w.gantry(["users", "add", name, "--json"], { ...home, GANTRY_TOKEN: tokens.ana ?? "" });
    assert.equal(r.code, 0, r.stderr);
    tokens[name] = String(r.json?.token);
  }
  const child = w.spawn(
    ["server", "--port", "0", ...extra, ...(releases ? ["--runbook", w.runbook] : [])],
    home,
  );
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  for (let i = 0; i < 300 && !/listening on (http:\/\/\S+)/.test(output); i++) await sleep(100);
  const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
  assert.ok(url, `the server did not start:\n${output}`);
  return { url: url!, tokens, w, child };
}

/** One request; the body parsed as JSON when it is. */
export async function call(
  s: Pick<Served, "url">,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
) {
  const r = await fetch(`${s.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: the caller says so where it matters.
  }
  return { status: r.status, json, text, headers: r.headers };
}

/**
 * Reads a run's SSE stream until its run.finished event: each event's id (its seq) and kind,
 * in the order received. `opened` resolves once the server answered.
 */
export function readStream(
  s: Pick<Served, "url">,
  run: string,
  token: string,
): { opened: Promise<void>; done: Promise<Array<{ id: number; kind: string }>> } {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const done = (async () => {
    const got: Array<{ id: number; kind: string }> = [];
    const r = await fetch(`${s.url}/api/runs/${run}/stream`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (r.status !== 200) assert.fail(`the stream answered ${r.status}: ${await r.text()}`);
    assert.match(String(r.headers.get("content-type")), /^text\/event-stream/);
    open();
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return got;
      buffer += value;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (\d+)$/m.exec(block)?.[1];
        const kind = /^event: (\S+)$/m.exec(block)?.[1];
        if (id && kind) got.push({ id: Number(id), kind });
        if (kind === "run.finished") {
          await reader.cancel();
          return got;
        }
        end = buffer.indexOf("\n\n");
      }
    }
  })();
  return { opened, done };
}
