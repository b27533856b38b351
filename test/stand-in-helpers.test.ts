/**
 * What the seeds' stand-ins need of the test helpers beyond the tests' own use: fixed ports
 * (refused when taken) and one faulty Deployment among several running the same image.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../src/exec/port.js";
import { startKubernetesApi } from "./helpers/kubernetes-api.js";
import { startSlackApi } from "./helpers/slack-api.js";

const IMAGE = "registry.test/app";

function deployment(name: string, tag: string) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "shop" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: `${IMAGE}:${tag}` }] },
      },
    },
  };
}

describe("stand-in helpers", () => {
  it("kubernetes: behave(image, behaviour, deployment) holds up only that Deployment's pods", async (t) => {
    const port = await freePort();
    const api = await startKubernetesApi({ port, readyAfterMs: 20, tickMs: 10 });
    t.after(() => api.stop());
    assert.equal(api.url, `http://127.0.0.1:${port}`);
    api.createNamespace("shop");
    api.behave(`${IMAGE}:2.0.0`, "never-ready", "worker");
    for (const name of ["web", "worker"]) {
      const r = await fetch(`${api.url}/apis/apps/v1/namespaces/shop/deployments`, {
        method: "POST",
        headers: { authorization: `Bearer ${api.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(deployment(name, "2.0.0")),
      });
      assert.equal(r.status, 201, await r.text());
    }
    await sleep(300);
    assert.equal(api.serving("shop", ["web"], IMAGE), "2.0.0");
    assert.equal(api.serving("shop", ["worker"], IMAGE), undefined);
  });

  it("kubernetes: readyWhen holds a pod back until its probe answers", async (t) => {
    let up = false;
    const api = await startKubernetesApi({ readyAfterMs: 20, tickMs: 10, readyWhen: () => up });
    t.after(() => api.stop());
    api.createNamespace("shop");
    const r = await fetch(`${api.url}/apis/apps/v1/namespaces/shop/deployments`, {
      method: "POST",
      headers: { authorization: `Bearer ${api.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(deployment("web", "2.0.0")),
    });
    assert.equal(r.status, 201, await r.text());
    await sleep(200);
    assert.equal(api.serving("shop", ["web"], IMAGE), undefined);
    up = true;
    await sleep(200);
    assert.equal(api.serving("shop", ["web"], IMAGE), "2.0.0");
  });

  it("kubernetes and slack: a fixed port already taken fails the start", async (t) => {
    const port = await freePort();
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    t.after(() => holder.close());
    await assert.rejects(startKubernetesApi({ port }), /EADDRINUSE|already in use/);
    const stops: Array<() => unknown> = [];
    t.after(() => Promise.all(stops.map((s) => s())));
    await assert.rejects(
      startSlackApi({ token: "xoxb-test", channels: ["#releases"], port }, (s) => stops.push(s)),
      /EADDRINUSE|already in use/,
    );
  });
});
