/**
 * The weighted proxy: the share each version gets over 1,000 requests is the stated one
 * (within 2 points; the round robin makes it exact to one request), new shares apply on the
 * next request, bodies and status codes pass through, and a version that is down answers 502.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, describe, it } from "node:test";
import { freePort } from "../exec/port.js";
import { get } from "./test-support.js";
import { Chooser, startProxy } from "./weighted-proxy.js";

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function version(name: string): Promise<number> {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    if (req.url === "/fail") return res.writeHead(503).end("down");
    res.writeHead(200, { "content-type": "text/plain" }).end(name);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return port;
}

describe("weighted proxy", () => {
  it("sends each version its share of 1,000 requests, and a new share from the next request", async () => {
    const stable = await version("stable");
    const canary = await version("canary");
    const port = await freePort();
    const { server, chooser } = await startProxy({
      port,
      targets: [
        { port: stable, weight: 0.9, version: "1.0.0" },
        { port: canary, weight: 0.1, version: "1.1.0" },
      ],
    });
    servers.push(server);
    const count = async (n: number) => {
      const seen: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const answer = await get(port, "/");
        seen[answer.body] = (seen[answer.body] ?? 0) + 1;
      }
      return seen;
    };
    const first = await count(1000);
    assert.ok(Math.abs((first.canary ?? 0) / 1000 - 0.1) <= 0.02, JSON.stringify(first));
    chooser.set([
      { port: stable, weight: 0.5, version: "1.0.0" },
      { port: canary, weight: 0.5, version: "1.1.0" },
    ]);
    const second = await count(1000);
    assert.ok(Math.abs((second.canary ?? 0) / 1000 - 0.5) <= 0.02, JSON.stringify(second));
    const failing = await get(port, "/fail");
    assert.equal(failing.status, 503, "the version's own status passes through");
  });

  it("answers 502 naming the version when it does not answer, 503 when no version serves", async () => {
    const port = await freePort();
    const gone = await freePort();
    const { server, chooser } = await startProxy({
      port,
      targets: [{ port: gone, weight: 1, version: "9.9.9" }],
    });
    servers.push(server);
    const answer = await get(port, "/");
    assert.equal(answer.status, 502);
    assert.match(answer.body, /version 9\.9\.9 did not answer/);
    chooser.set([]);
    assert.equal((await get(port, "/")).status, 503);
  });

  it("chooses by smooth weighted round robin: within one request of each share at every point", () => {
    const chooser = new Chooser([
      { port: 1, weight: 0.3, version: "a" },
      { port: 2, weight: 0.7, version: "b" },
    ]);
    let a = 0;
    for (let i = 1; i <= 200; i++) {
      if (chooser.next()?.version === "a") a++;
      assert.ok(Math.abs(a - 0.3 * i) <= 1, `after ${i}: ${a}`);
    }
  });
});
