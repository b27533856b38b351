/**
 * The stand-in's kubelet: the Kubernetes stand-in (test/helpers/kubernetes-api.ts) only keeps
 * pods as records; this runs one real process (app.mjs) for each Deployment and version whose
 * ReplicaSet has pods, and stops it when that ReplicaSet has none left (scaled down after a
 * rollout, or after a rollback). One process stands for all the replicas of a version. Its
 * readiness probe is the process's /healthz: `answers(pod)` is the Kubernetes stand-in's
 * readyWhen, so a pod is ready once its process has served for READY_AFTER_MS. As a Service does, the ingress routes
 * only to a version whose pods the cluster reports ready: a never-ready pod's process runs,
 * and gets no traffic.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { NAMESPACE, POD_PORTS } from "./ports.mjs";

const APP = fileURLToPath(new URL("./app.mjs", import.meta.url));
// The readiness probe's initial delay: a pod is ready once its process has answered for this
// long, as with `initialDelaySeconds`. Prometheus (a scrape a second) has two samples of a new
// pod by then, so the T+0 checkpoint's rate() queries find its series.
const READY_AFTER_MS = 2500;

const tagOf = (ref, image) => {
  const [name, tag] = String(ref)
    .split("@")[0]
    .split(/:(?=[^/]*$)/);
  return name === image ? (tag ?? "latest") : undefined;
};

/**
 * k8s: the Kubernetes stand-in; image: the release's image; versions: versions.json's map
 * (a version's build hash); env: DATABASE_URL and REDIS_URL for the pods; logs: a folder.
 */
export function startKubelet({ k8s, image, versions, env, logs }) {
  /** `<deployment>@<version>` → { deployment, version, port, revision, child, exited } */
  const pods = new Map();
  fs.mkdirSync(logs, { recursive: true });

  function wanted() {
    const out = new Map();
    for (const rs of k8s.objects(NAMESPACE, "replicasets")) {
      const deployment = (rs.metadata.ownerReferences ?? []).find((r) => r.kind === "Deployment")?.name;
      if (!POD_PORTS[deployment] || !(rs.status?.replicas > 0)) continue;
      const containers = rs.spec.template.spec?.containers ?? [];
      const version = containers.map((c) => tagOf(c.image, image)).find(Boolean);
      if (!version) continue;
      const revision = Number(rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0);
      const ready = rs.status.readyReplicas > 0;
      out.set(`${deployment}@${version}`, { deployment, version, revision, ready });
    }
    return out;
  }

  function start({ deployment, version, revision }) {
    const taken = new Set([...pods.values()].map((p) => p.port));
    const port = POD_PORTS[deployment].find((p) => !taken.has(p));
    if (!port) return undefined;
    const log = fs.openSync(path.join(logs, `${deployment}-${version}.log`), "a");
    const child = spawn(process.execPath, [APP, deployment, version, String(port)], {
      env: { ...env, BUILD: versions[version]?.build ?? "0000000" },
      stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    const pod = {
      deployment,
      version,
      port,
      revision,
      ready: false,
      answering: false,
      answeringSince: undefined,
      child,
      exited: false,
    };
    child.once("exit", () => {
      pod.exited = true;
    });
    return pod;
  }

  function sync() {
    const want = wanted();
    for (const [key, pod] of pods) {
      if (!want.has(key) || pod.exited) {
        pod.child.kill("SIGTERM");
        pods.delete(key);
      }
    }
    for (const [key, w] of want) {
      const pod = pods.get(key) ?? start(w);
      if (!pod) continue;
      pods.set(key, pod);
      pod.revision = w.revision;
      pod.ready = w.ready;
      if (!pod.answering) probe(pod);
    }
  }

  function probe(pod) {
    fetch(`http://127.0.0.1:${pod.port}/healthz`, { signal: AbortSignal.timeout(500) })
      .then((r) => {
        if (r.ok) pod.answeringSince ??= Date.now();
        pod.answering = r.ok && Date.now() - pod.answeringSince >= READY_AFTER_MS;
        return r.arrayBuffer();
      })
      .catch(() => undefined);
  }
  const timer = setInterval(sync, 200);

  return {
    /** The readiness probe of a pod of the cluster: does its version's process answer? */
    answers(p) {
      const rsName = (p.metadata.ownerReferences ?? []).find((r) => r.kind === "ReplicaSet")?.name;
      const rs = rsName && k8s.object(NAMESPACE, "replicasets", rsName);
      const deployment = (rs?.metadata.ownerReferences ?? []).find((r) => r.kind === "Deployment")?.name;
      const version = (p.spec.containers ?? []).map((c) => tagOf(c.image, image)).find(Boolean);
      return pods.get(`${deployment}@${version}`)?.answering === true;
    },
    /** The port of a Deployment's newest ready version (what its Service routes to), if any. */
    route(deployment) {
      const mine = [...pods.values()].filter((p) => p.deployment === deployment && p.ready && !p.exited);
      mine.sort((a, b) => b.revision - a.revision);
      return mine[0]?.port;
    },
    /** At once, for the stand-in's exit: no pod outlives it. */
    killNow() {
      clearInterval(timer);
      for (const p of pods.values()) if (!p.exited) p.child.kill("SIGKILL");
    },
    async stop() {
      clearInterval(timer);
      const exits = [...pods.values()].map(
        (p) =>
          new Promise((resolve) => {
            if (p.exited) return resolve();
            p.child.once("exit", resolve);
            p.child.kill("SIGTERM");
            setTimeout(() => p.child.kill("SIGKILL"), 3000).unref();
          }),
      );
      pods.clear();
      await Promise.all(exits);
    },
  };
}
