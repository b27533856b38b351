/**
 * What only the kubernetes provider does, against the Kubernetes API stand-in: the kubeconfig
 * (file, $KUBECONFIG, contexts and their namespace, tokenFile, an exec plugin, HTTPS with the
 * cluster's CA), the manifests (kustomization subset and its refusals, a pinned digest,
 * set-image without `apply`), what the cluster refuses before anything changes (401, 403, 404,
 * 422), 429 and 409 retried, rollouts that exceed their progress deadline, the digest checks,
 * rollback as `rollout undo` (the old ReplicaSet's template, not only the image), the canary's
 * objects and traffic command, and seed 004's deploy section.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import YAML from "yaml";
import { leaf, testCa } from "../../test/helpers/certs.js";
import { type KubernetesApi, startKubernetesApi } from "../../test/helpers/kubernetes-api.js";
import { Deploy } from "../runbook/schema/flow.js";
import { renderTemplate } from "../runbook/template.js";
import { IMAGE, shopManifests } from "./kubernetes.conformance.js";
import { createKubernetesProvider } from "./kubernetes.js";
import { canaryReplicas, replicaShare } from "./kubernetes-canary.js";
import { parseImage, readManifests } from "./kubernetes-manifests.js";
import { makeKube } from "./kubernetes-ops.js";
import { readState, request, type TestDatabase, tempDir, testDatabase, testOptions } from "./test-support.js";
import type { Provider, ProviderOptions } from "./types.js";

let db: TestDatabase;
let api: KubernetesApi;
const stops: Array<() => unknown> = [];
const providers: Provider[] = [];
let serial = 0;

before(async () => {
  db = await testDatabase();
  api = await startKubernetesApi({ readyAfterMs: 50, secondMs: 100 }, (s) => stops.push(s));
});
after(async () => {
  for (const p of providers) await p.stop();
  for (const s of stops.reverse()) await s();
  await db?.close();
});

interface World {
  dir: string;
  ns: string;
  kubeconfig: string;
  write(rel: string, text: string): void;
  provider(spec?: Record<string, unknown>, extra?: Partial<ProviderOptions>): Provider;
  options: ProviderOptions;
}

/** A service with its own namespace, a folder of manifests (`manifests` at all.yaml) and a kubeconfig. */
function world(manifests: string | undefined = shopManifests(IMAGE)): World {
  const dir = tempDir("kubernetes-test");
  stops.push(() => rmSync(dir, { recursive: true, force: true }));
  const ns = `t-${++serial}-${process.pid}`;
  api.createNamespace(ns);
  const write = (rel: string, text: string) => {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), text);
  };
  if (manifests) write("manifests/all.yaml", manifests);
  const kubeconfig = api.writeKubeconfig(join(dir, "kubeconfig"));
  let options = testOptions(db.pool, join(dir, "state"), { cwd: dir });
  mkdirSync(join(dir, "state"), { recursive: true });
  return {
    dir,
    ns,
    kubeconfig,
    write,
    get options() {
      return options;
    },
    provider(spec = {}, extra = {}) {
      const parsed = Deploy.parse({
        provider: "kubernetes",
        kubeconfig,
        namespace: ns,
        apply: "manifests",
        deployments: ["api", "web"],
        image: IMAGE,
        timeout: "5s",
        ...spec,
      });
      assert.ok(parsed.provider === "kubernetes");
      options = testOptions(db.pool, join(dir, "state"), { cwd: dir, ...extra });
      const provider = createKubernetesProvider(parsed, options);
      providers.push(provider);
      return provider;
    },
  };
}

const writes = (ns: string) =>
  api.requests.filter((r) => r.method !== "GET" && r.path.includes(`/namespaces/${ns}/`));

describe("kubernetes provider: the kubeconfig", () => {
  it("says which kubeconfig is missing, and changes nothing", async () => {
    const w = world();
    const p = w.provider({ kubeconfig: "no-such/kubeconfig" });
    const r = await p.deploy(request("1.0.0", "k-1:deploy"));
    assert.equal(r.ok, false);
    assert.equal(r.started, false);
    assert.match(r.message, /cannot read the kubeconfig .*no-such\/kubeconfig \(deploy\.kubeconfig\)/);
    assert.equal((await p.status()).healthy, false);
  });

  it("merges $KUBECONFIG's files, picks deploy.context, and takes the namespace from the context", async () => {
    const w = world();
    const other = api.writeKubeconfig(join(w.dir, "other"), {
      context: "other",
      token: "wrong",
      namespace: "nowhere",
    });
    const mine = api.writeKubeconfig(join(w.dir, "mine"), { context: "mine", namespace: w.ns });
    const KUBECONFIG = [join(w.dir, "missing"), other, mine].join(":");
    const wrongContext = w.provider(
      { kubeconfig: undefined, namespace: undefined, context: "nope" },
      { env: { KUBECONFIG } },
    );
    const refused = await wrongContext.deploy(request("1.0.0", "k-2:deploy"));
    assert.match(refused.message, /has no context "nope" \(its contexts: other, mine\)/);
    const p = w.provider(
      { kubeconfig: undefined, namespace: undefined, context: "mine" },
      { env: { KUBECONFIG } },
    );
    const r = await p.deploy(request("1.0.0", "k-3:deploy"));
    assert.equal(r.ok, true, r.message);
    assert.equal(api.serving(w.ns, ["api", "web"], IMAGE), "1.0.0");
  });

  it("refuses a token the cluster does not know (401) without changing anything", async () => {
    const w = world();
    api.writeKubeconfig(w.kubeconfig, { token: "not-a-token" });
    const p = w.provider();
    const r = await p.deploy(request("1.0.0", "k-4:deploy"));
    assert.equal(r.ok, false);
    assert.equal(r.started, false, r.message);
    assert.match(
      r.message,
      /refused the credentials of user stand-in in context stand-in \(http:\/\/127\.0\.0\.1:\d+\): Unauthorized \(401\)/,
    );
    const status = await p.status();
    assert.equal(status.healthy, false);
    assert.match(status.message, /Unauthorized/);
    assert.equal((await readState(db.pool, join(w.dir, "state"))).deploys.at(-1)?.result, "failed");
  });

  it("reads a tokenFile relative to the kubeconfig, and runs an exec plugin (once, until its token expires)", async () => {
    const w = world();
    writeFileSync(join(w.dir, "token"), `${api.adminToken}\n`);
    api.writeKubeconfig(w.kubeconfig, { user: { tokenFile: "token" } });
    assert.equal((await w.provider().deploy(request("1.0.0", "k-5:deploy"))).ok, true);

    const count = join(w.dir, "exec-count");
    const plugin = join(w.dir, "plugin.mjs");
    writeFileSync(
      plugin,
      `#!/usr/bin/env node
import { appendFileSync } from "node:fs";
appendFileSync(${JSON.stringify(count)}, "x");
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
process.stdout.write(JSON.stringify({ apiVersion: info.apiVersion, kind: "ExecCredential",
  status: { token: process.env.STAND_IN_TOKEN, expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }));
`,
    );
    chmodSync(plugin, 0o755);
    api.writeKubeconfig(w.kubeconfig, {
      user: {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "./plugin.mjs",
          env: [{ name: "STAND_IN_TOKEN", value: api.adminToken }],
          interactiveMode: "Never",
        },
      },
    });
    const p = w.provider();
    const r = await p.deploy(request("2.0.0", "k-6:deploy"));
    assert.equal(r.ok, true, r.message);
    assert.equal((await p.status()).version, "2.0.0");
    assert.equal(readFileSync(count, "utf8"), "x", "the plugin ran once for every request of the instance");

    api.writeKubeconfig(w.kubeconfig, {
      user: {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "gantry-no-such-plugin",
          installHint: "install it with: apt-get install gantry-plugin",
        },
      },
    });
    const missing = await w.provider().deploy(request("3.0.0", "k-7:deploy"));
    assert.equal(missing.started, false);
    assert.match(
      missing.message,
      /exec plugin gantry-no-such-plugin is not installed \(install it with: apt-get install gantry-plugin\)/,
    );
  });

  it("speaks HTTPS to a cluster whose CA the kubeconfig carries, and says why without it", async () => {
    const ca = testCa();
    const cert = leaf({ name: "localhost", ips: ["127.0.0.1"], ca });
    const secure = await startKubernetesApi({ readyAfterMs: 50, tls: { ...cert, ca: ca.cert } }, (s) =>
      stops.push(s),
    );
    const w = world();
    secure.createNamespace(w.ns);
    secure.writeKubeconfig(w.kubeconfig);
    const r = await w.provider().deploy(request("1.0.0", "k-8:deploy"));
    assert.equal(r.ok, true, r.message);
    assert.equal(secure.serving(w.ns, ["api", "web"], IMAGE), "1.0.0");
    secure.writeKubeconfig(w.kubeconfig, { ca: false });
    const refused = await w.provider().deploy(request("2.0.0", "k-9:deploy"));
    assert.equal(refused.started, false);
    assert.match(
      refused.message,
      /cannot reach the cluster at https:\/\/127\.0\.0\.1:\d+ .*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT)/,
    );
  });
});

describe("kubernetes provider: manifests", () => {
  it("applies every object by server-side apply, after a dry run of all of them", async () => {
    const w = world(
      `${shopManifests(IMAGE)}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n`,
    );
    const r = await w.provider().deploy(request("1.0.0", "m-1:deploy"));
    assert.equal(r.ok, true, r.message);
    const patches = writes(w.ns).filter((q) => q.method === "PATCH");
    assert.ok(
      patches.every(
        (q) => q.contentType === "application/apply-patch+yaml" && q.query.includes("fieldManager=gantry"),
      ),
    );
    const dry = patches.filter((q) => q.query.includes("dryRun=All"));
    assert.equal(dry.length, 3);
    assert.deepEqual(
      patches.slice(0, 3).map((q) => q.query.includes("dryRun=All")),
      [true, true, true],
      "every dry run before the first real write",
    );
    assert.equal(api.object(w.ns, "configmaps", "settings")?.data.mode, "fast");
    const image = api.object(w.ns, "deployments", "api")?.spec.template.spec.containers[0].image;
    assert.equal(image, `${IMAGE}:1.0.0`);
    assert.match(r.message, /^deployed 1\.0\.0 to api, web in .*; pods run sha256:/);
  });

  it("reads a kustomization's resources, namespace and images, and pins a digest it gives", async () => {
    const w = world(undefined);
    w.write("base/all.yaml", shopManifests("shop-dev"));
    w.write("base/kustomization.yaml", "resources: [all.yaml]\n");
    const digest = `sha256:${"ab".repeat(32)}`;
    w.write(
      "overlays/prod/kustomization.yaml",
      `namespace: ${w.ns}\nresources: [../../base]\nimages:\n  - name: shop-dev\n    newName: ${IMAGE}\n    digest: ${digest}\n`,
    );
    const r = await w
      .provider({
        apply: "overlays/prod",
        namespace: undefined,
        kubeconfig: api.writeKubeconfig(join(w.dir, "kc"), { namespace: "elsewhere" }),
      })
      .deploy(request("1.0.0", "m-2:deploy"));
    assert.match(r.message, /goes to namespace t-.*, but deploy\.namespace is elsewhere/);
    const ok = await w.provider({ apply: "overlays/prod" }).deploy(request("1.0.0", "m-3:deploy"));
    assert.equal(ok.ok, true, ok.message);
    assert.equal(
      api.object(w.ns, "deployments", "web")?.spec.template.spec.containers[0].image,
      `${IMAGE}:1.0.0@${digest}`,
    );
    assert.ok(
      ok.output?.some((l) => l.includes(`runs as ${digest}`) && l.includes("kustomization")),
      JSON.stringify(ok.output),
    );
  });

  it("refuses what it does not apply itself, by name, before touching the cluster", async () => {
    const w = world();
    w.write("k/all.yaml", shopManifests(IMAGE));
    w.write(
      "k/kustomization.yaml",
      "resources: [all.yaml]\npatches:\n  - path: more.yaml\nconfigMapGenerator: []\n",
    );
    const r = await w.provider({ apply: "k" }).deploy(request("1.0.0", "m-4:deploy"));
    assert.equal(r.started, false);
    assert.match(
      r.message,
      /kustomization\.yaml uses patches, configMapGenerator, which Gantry does not apply itself .*kustomize build/,
    );
    w.write("r/kustomization.yaml", "resources: [https://github.com/acme/base?ref=v1]\n");
    assert.match(
      (await w.provider({ apply: "r" }).deploy(request("1.0.0", "m-5:deploy"))).message,
      /remote resource .* is not supported/,
    );
    const none = await w.provider({ deployments: ["api", "worker"] }).deploy(request("1.0.0", "m-6:deploy"));
    assert.match(none.message, /manifests has no Deployment worker \(deploy\.deployments\); it has api, web/);
    assert.deepEqual(writes(w.ns), []);
  });

  it("says what the cluster refuses (422 Invalid, 404 namespace) and that nothing changed", async () => {
    const w = world(
      shopManifests(IMAGE).replace("matchLabels: {app: shop, component: web}", "matchLabels: {app: other}"),
    );
    const invalid = await w.provider().deploy(request("1.0.0", "m-7:deploy"));
    assert.equal(invalid.started, false);
    assert.match(
      invalid.message,
      /nothing was changed: Deployment\.apps "web" is invalid: spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels` \(422 Invalid/,
    );
    assert.equal(api.object(w.ns, "deployments", "api"), undefined, "api was not applied either");
    const gone = await w.provider({ namespace: "no-such-namespace" }).deploy(request("1.0.0", "m-8:deploy"));
    assert.equal(gone.started, false);
    assert.match(gone.message, /namespaces "no-such-namespace" not found \(404 NotFound/);
  });

  it("without `apply`, sets the image on the Deployments in place", async () => {
    const w = world();
    assert.equal((await w.provider().deploy(request("1.0.0", "m-9:deploy"))).ok, true);
    const p = w.provider({ apply: undefined, tag: "v{{ release.version }}" });
    const r = await p.deploy(request("1.1.0", "m-10:deploy"));
    assert.equal(r.ok, true, r.message);
    assert.equal(
      r.previousVersion,
      "1.0.0",
      "as recorded: tag 1.0.0 is no version of v{{ release.version }}",
    );
    assert.equal(api.serving(w.ns, ["api", "web"], IMAGE), "v1.1.0");
    assert.equal((await p.status()).version, "1.1.0");
    assert.ok(writes(w.ns).some((q) => q.method === "PUT" && q.path.endsWith("/deployments/api")));
  });

  it("without `image`, applies the manifests as written, replays from the record, and rolls back to recorded images", async () => {
    const w = world(shopManifests("registry.test/fixed").replaceAll(":latest", ":one"));
    const p = w.provider({ image: undefined });
    assert.equal((await p.deploy(request("1", "n-1:deploy"))).ok, true);
    const again = await p.deploy(request("1", "n-1:deploy"));
    assert.equal(again.replayed, true, again.message);
    assert.equal((await p.status()).version, "1");
    w.write("manifests/all.yaml", shopManifests("registry.test/fixed").replaceAll(":latest", ":two"));
    assert.equal((await p.deploy(request("2", "n-2:deploy"))).previousVersion, "1");
    const back = await p.rollback(request("1", "n-2:rollback"));
    assert.equal(back.ok, true, back.message);
    assert.equal(
      api.object(w.ns, "deployments", "web")?.spec.template.spec.containers[0].image,
      "registry.test/fixed:one",
    );
  });

  it("fills templates of fields that are not commands as plain text, as the engine does", () => {
    const text = (t: string, v: { version: string }) =>
      renderTemplate(t, { release: { version: v.version }, env: { name: "production" } });
    const kube = makeKube(
      Deploy.parse({
        provider: "kubernetes",
        deployments: ["api"],
        image: "x",
        tag: "v{{ release.version }}-amd64",
      }) as never,
      { ...testOptions(db.pool, tempDir("k")), text } as ProviderOptions,
    );
    assert.equal(kube.tag("1.2.3"), "v1.2.3-amd64");
    assert.equal(kube.versionOfTag("v1.2.3-amd64"), "1.2.3");
    assert.equal(kube.versionOfTag("latest"), undefined);
  });

  it("parses image references and reads plain folders", () => {
    assert.deepEqual(parseImage("registry:5000/a/b:1.0@sha256:ff"), {
      name: "registry:5000/a/b",
      tag: "1.0",
      digest: "sha256:ff",
    });
    assert.deepEqual(parseImage("registry:5000/a/b"), { name: "registry:5000/a/b" });
    const dir = tempDir("k-manifests");
    writeFileSync(
      join(dir, "b.yaml"),
      "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: two}}\n",
    );
    writeFileSync(
      join(dir, "a.json"),
      JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "one" } }),
    );
    writeFileSync(join(dir, "notes.txt"), "not a manifest");
    assert.deepEqual(
      readManifests(dir).objects.map((o) => [o.source, o.object.metadata.name]),
      [
        ["a.json", "one"],
        ["b.yaml", "two"],
      ],
    );
    writeFileSync(join(dir, "c.yaml"), "kind: ConfigMap\n");
    assert.throws(() => readManifests(dir), /c\.yaml: document 1 has no apiVersion and kind/);
  });
});

describe("kubernetes provider: rollouts", () => {
  it("fails at the progress deadline with the pods' reason, and status says so", async () => {
    const w = world(shopManifests("registry.test/missing", { progressDeadlineSeconds: 2 }));
    api.behave("registry.test/missing", "pull-error");
    const p = w.provider({ image: "registry.test/missing", deployments: ["api"] });
    const r = await p.deploy(request("1.0.0", "r-1:deploy"));
    assert.equal(r.ok, false);
    assert.match(
      r.message,
      /deployment api exceeded its progress deadline of 2s \(ProgressDeadlineExceeded: ReplicaSet "api-\w+" has timed out progressing\.\); 10\/10 updated, 0 available; pods: api-\w+-\w+ ImagePullBackOff \(Back-off pulling image "registry\.test\/missing:1\.0\.0"\), .* and 7 more/,
    );
    const status = await p.status();
    assert.equal(status.healthy, false);
    assert.match(status.message, /^1\.0\.0 unhealthy: deployment api exceeded its progress deadline/);
  });

  it("retries 429 (Retry-After) and 409 Conflict, and stops waiting on an abort", async () => {
    const w = world();
    const p = w.provider();
    api.throttle(1, 1);
    const started = Date.now();
    assert.equal((await p.deploy(request("1.0.0", "r-2:deploy"))).ok, true);
    assert.ok(Date.now() - started >= 1000, "waited for Retry-After");
    assert.equal((await p.deploy(request("2.0.0", "r-3:deploy"))).ok, true);
    api.conflictNext(2);
    const back = await p.rollback(request("1.0.0", "r-3:rollback"));
    assert.equal(back.ok, true, back.message);

    const abort = new AbortController();
    api.delay(5000);
    setTimeout(() => abort.abort(), 300);
    const stopped = await p.deploy({ ...request("3.0.0", "r-4:deploy"), signal: abort.signal });
    assert.equal(stopped.ok, false);
    assert.equal(stopped.started, true);
    assert.match(
      stopped.message,
      /stopped waiting for the rollout of 3\.0\.0 .* a retry with the same key resumes the wait/,
    );
  });

  it("rolls back as rollout undo: the old ReplicaSet's whole template comes back, no new ReplicaSet", async () => {
    const w = world(
      shopManifests(IMAGE).replaceAll("ports: [{containerPort: 8080}]", "env: [{name: MODE, value: one}]"),
    );
    const p = w.provider();
    assert.equal((await p.deploy(request("1.0.0", "u-1:deploy"))).ok, true);
    await p.markGood("1.0.0");
    w.write(
      "manifests/all.yaml",
      shopManifests(IMAGE).replaceAll("ports: [{containerPort: 8080}]", "env: [{name: MODE, value: two}]"),
    );
    assert.equal((await p.deploy(request("2.0.0", "u-2:deploy"))).ok, true);
    assert.equal(api.revision(w.ns, "api"), 2);
    const back = await p.rollback(request("1.0.0", "u-2:rollback"));
    assert.equal(back.ok, true, back.message);
    assert.match(
      back.message,
      /^rolled back to 1\.0\.0 in .* \(was 2\.0\.0\): api to revision 1's pod template; web to revision 1's pod template$/,
    );
    const api0 = api.object(w.ns, "deployments", "api")!;
    assert.deepEqual(api0.spec.template.spec.containers[0].env, [{ name: "MODE", value: "one" }]);
    assert.equal(api.revision(w.ns, "api"), 3, "the undo is a new revision");
    assert.equal(
      api.objects(w.ns, "replicasets").filter((rs) => rs.metadata.name.startsWith("api-")).length,
      2,
    );
    const again = await p.rollback(request("1.0.0", "u-2:rollback"));
    assert.equal(again.replayed, true);
  });

  it("fails a rollback whose tag now resolves to another digest than the one that rolled out", async () => {
    const w = world();
    const p = w.provider();
    assert.equal((await p.deploy(request("1.0.0", "d-1:deploy"))).ok, true);
    assert.equal((await p.deploy(request("2.0.0", "d-2:deploy"))).ok, true);
    api.setDigest(`${IMAGE}:1.0.0`, `sha256:${"0".repeat(64)}`);
    const back = await p.rollback(request("1.0.0", "d-2:rollback"));
    assert.equal(back.ok, false);
    assert.match(
      back.message,
      /^rolled back api, web to 1\.0\.0, but the pods run registry\.test\/shop@sha256:0{12}…, while 1\.0\.0 is sha256:\w{12}… \(Gantry's record of 1\.0\.0 when it last rolled out\)$/,
    );
  });

  it("rolls out a Deployment scaled to 0, with no digest to check", async () => {
    const w = world(shopManifests(IMAGE).replaceAll("replicas: 10", "replicas: 0"));
    const r = await w.provider().deploy(request("1.0.0", "z-1:deploy"));
    assert.equal(r.ok, true, r.message);
    assert.ok(
      r.output?.includes(`no pod runs ${IMAGE}:1.0.0 (0 replicas): no digest to check`),
      JSON.stringify(r.output),
    );
  });

  it("checks the digest deploy.digest gives", async () => {
    const w = world();
    const good = `sha256:${"1".repeat(64)}`;
    api.setDigest(`${IMAGE}:4.0.0`, good);
    const p = w.provider({ digest: good, deployments: ["api"] });
    assert.equal((await p.deploy(request("4.0.0", "d-3:deploy"))).ok, true);
    const wrong = await w
      .provider({ digest: `sha256:${"2".repeat(64)}`, deployments: ["api"] })
      .deploy(request("4.0.1", "d-4:deploy"));
    assert.equal(wrong.ok, false);
    assert.match(
      wrong.message,
      /^applied 4\.0\.1, but the pods run registry\.test\/shop@sha256:\w{12}…, while 4\.0\.1 is sha256:2{12}… \(deploy\.digest\)$/,
    );
    const bad = await w.provider({ digest: "latest" }).deploy(request("4.0.2", "d-5:deploy"));
    assert.match(bad.message, /deploy\.digest is "latest" for 4\.0\.2, not sha256:<64 hex digits>/);
  });
});

describe("kubernetes provider: canary", () => {
  it("computes replicas: at least one each, and the share they give", () => {
    assert.deepEqual(canaryReplicas(0.1, 10), { canary: 1, stable: 9 });
    assert.deepEqual(canaryReplicas(0.01, 10), { canary: 1, stable: 9 });
    assert.deepEqual(canaryReplicas(0.99, 10), { canary: 9, stable: 1 });
    assert.deepEqual(canaryReplicas(0.5, 1), { canary: 1, stable: 1 });
    assert.deepEqual(canaryReplicas(1, 3), { canary: 3, stable: 0 });
    assert.equal(replicaShare([canaryReplicas(0.25, 4), canaryReplicas(0.25, 8)]), 3 / 12);
  });

  it("runs D-canary beside D, moves replicas and the traffic command, promotes, and removes the canary", async () => {
    const w = world(
      `${shopManifests(IMAGE)}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: old}\n`,
    );
    const log = join(w.dir, "traffic.log");
    const traffic = `echo "{{ canary.weight }}% to {{ release.version }} from {{ release.previousVersion }} $GANTRY_CANARY_WEIGHT" >> ${log}`;
    const p = w.provider({ traffic });
    assert.equal((await p.deploy(request("1.0.0", "c-1:deploy"))).ok, true);
    w.write(
      "manifests/all.yaml",
      `${shopManifests(IMAGE)}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: new}\n`,
    );

    const start = await p.deploy({ ...request("2.0.0", "c-2:deploy"), weight: 0.2 });
    assert.equal(start.ok, true, start.message);
    assert.match(
      start.message,
      /^canary 2\.0\.0 started in .*: api-canary 2\/10, web-canary 2\/10 replicas \(20%\); 1\.0\.0 serves the rest$/,
    );
    const canary = api.object(w.ns, "deployments", "api-canary")!;
    assert.equal(canary.metadata.labels["gantry.dev/track"], "canary");
    assert.equal(canary.spec.selector.matchLabels["gantry.dev/track"], "canary");
    assert.equal(
      canary.spec.template.metadata.labels.app,
      "shop",
      "the Service selects the canary's pods too",
    );
    assert.equal(canary.spec.template.spec.containers[0].image, `${IMAGE}:2.0.0`);
    assert.equal(api.object(w.ns, "deployments", "api")!.spec.replicas, 8);
    assert.equal(
      api.object(w.ns, "deployments", "api")!.metadata.annotations["gantry.dev/stable-replicas"],
      "10",
    );
    assert.equal(
      api.object(w.ns, "configmaps", "settings")!.data.mode,
      "old",
      "the rest waits for the promotion",
    );
    assert.equal(api.share(w.ns, IMAGE, "2.0.0"), 0.2);
    const status = await p.status();
    assert.equal(status.version, "1.0.0");
    assert.match(status.message, /canary 2\.0\.0 on api-canary 2\/2/);

    const half = await p.canary!.shift({
      version: "2.0.0",
      weight: 0.5,
      key: "c-2:canary:2",
      timeoutMs: 5000,
    });
    assert.equal(half.ok, true, half.message);
    assert.equal(half.weight, 0.5);
    assert.equal(api.share(w.ns, IMAGE, "2.0.0"), 0.5);
    const all = await p.canary!.shift({ version: "2.0.0", weight: 1, key: "c-2:canary:3", timeoutMs: 5000 });
    assert.equal(all.ok, true, all.message);
    assert.equal(api.object(w.ns, "deployments", "api-canary"), undefined);
    const promoted = api.object(w.ns, "deployments", "api")!;
    assert.equal(promoted.spec.replicas, 10);
    assert.equal(promoted.metadata.annotations["gantry.dev/stable-replicas"], undefined);
    assert.equal(api.object(w.ns, "configmaps", "settings")!.data.mode, "new");
    assert.equal((await readState(db.pool, join(w.dir, "state"))).current, "2.0.0");
    assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), [
      "20% to 2.0.0 from 1.0.0 20",
      "50% to 2.0.0 from 1.0.0 50",
      "100% to 2.0.0 from 1.0.0 100",
    ]);
  });

  it("rolls a canary back: D-canary deleted, D back to its replicas, the router told 0", async () => {
    const w = world();
    const log = join(w.dir, "traffic.log");
    const p = w.provider({ traffic: `echo {{ canary.weight }} >> ${log}` });
    assert.equal((await p.deploy(request("1.0.0", "c-3:deploy"))).ok, true);
    assert.equal((await p.deploy({ ...request("2.0.0", "c-4:deploy"), weight: 0.1 })).ok, true);
    const back = await p.rollback(request("1.0.0", "c-4:rollback"));
    assert.equal(back.ok, true, back.message);
    assert.match(
      back.message,
      /\(was 2\.0\.0\): api already on 1\.0\.0, back to 10 replicas; web already on 1\.0\.0, back to 10 replicas; canary removed$/,
    );
    assert.equal(api.object(w.ns, "deployments", "web-canary"), undefined);
    assert.equal(api.object(w.ns, "deployments", "web")!.spec.replicas, 10);
    assert.equal(api.revision(w.ns, "web"), 1, "the stable pods were never replaced");
    assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), ["10", "0"]);
  });

  it("refuses a canary with nothing serving, and a shift with no canary", async () => {
    const w = world();
    const p = w.provider();
    const r = await p.deploy({ ...request("1.0.0", "c-5:deploy"), weight: 0.1 });
    assert.equal(r.ok, false);
    assert.equal(r.started, false);
    assert.match(r.message, /deployment api does not exist; deploy without a canary first/);
    assert.equal((await p.deploy(request("1.0.0", "c-6:deploy"))).ok, true);
    const s = await p.canary!.shift({ version: "2.0.0", weight: 0.5, key: "c-6:canary:1", timeoutMs: 2000 });
    assert.equal(s.ok, false);
    assert.match(s.message, /no canary of 2\.0\.0 runs for api, web; start one with a canary deploy/);
  });
});

describe("kubernetes provider: seed 004", () => {
  it("runs seed 004's deploy section: its overlay for the environment, three deployments, $KUBECONFIG", async () => {
    const seed = YAML.parse(
      readFileSync(
        new URL("../../../examples/seeds/004-kubernetes-supabase/runbook.yaml", import.meta.url),
        "utf8",
      ),
    );
    const spec = Deploy.parse(seed.deploy);
    assert.ok(spec.provider === "kubernetes");
    assert.equal(spec.timeout.ms, 15 * 60_000);
    const image = "ghcr.io/valuecanvas/valuecanvas";
    const dir = tempDir("seed-004");
    stops.push(() => rmSync(dir, { recursive: true, force: true }));
    const deployment = (name: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n    spec:\n      containers: [{name: ${name}, image: ${image}}]\n`;
    mkdirSync(join(dir, "kubernetes/base"), { recursive: true });
    mkdirSync(join(dir, "kubernetes/overlays/production"), { recursive: true });
    writeFileSync(
      join(dir, "kubernetes/base/app.yaml"),
      ["api", "web", "worker"].map(deployment).join("---\n"),
    );
    writeFileSync(join(dir, "kubernetes/base/kustomization.yaml"), "resources: [app.yaml]\n");
    writeFileSync(
      join(dir, "kubernetes/overlays/production/kustomization.yaml"),
      "namespace: valuecanvas\nresources: [../../base]\n",
    );
    api.createNamespace("valuecanvas");
    const KUBECONFIG = api.writeKubeconfig(join(dir, "kubeconfig"));
    const options = testOptions(db.pool, join(dir, "state"), {
      cwd: dir,
      env: { KUBECONFIG },
      text: (t, v) => renderTemplate(t, { release: { version: v.version }, env: { name: "production" } }),
    });
    mkdirSync(join(dir, "state"), { recursive: true });
    const p = createKubernetesProvider(spec, options);
    providers.push(p);
    const r = await p.deploy(request("1.4.2", "seed:deploy", 15 * 60_000));
    assert.equal(r.ok, true, r.message);
    assert.equal(api.serving("valuecanvas", ["api", "web", "worker"], image), "1.4.2");
    assert.ok(
      r.output?.some((l) => l.startsWith(`${image}:1.4.2 runs as sha256:`) && l.endsWith("on 6 pods")),
      JSON.stringify(r.output),
    );
  });
});
