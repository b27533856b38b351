/**
 * Rollouts, as `kubectl rollout status` reads them: a Deployment has rolled out when its
 * controller has observed its latest spec (status.observedGeneration >= metadata.generation),
 * every replica runs the new pod template (updatedReplicas == spec.replicas), no old replica is
 * left (status.replicas == updatedReplicas) and every one is available (availableReplicas ==
 * spec.replicas). A Progressing condition False with reason ProgressDeadlineExceeded fails the
 * wait at once. A paused Deployment fails too: it would never finish.
 *
 * Then the digest: the pods of the Deployment's current ReplicaSet report, per container,
 * status.containerStatuses[].imageID ending in @sha256:…, the digest the node pulled for the
 * tag. See verifyDigest for what is compared.
 */
import {
  isNotFound,
  type KubeClient,
  type KubeObject,
  type KubeResource,
  resourcePath,
  selectorText,
} from "./kubernetes-client.js";
import { parseImage, templateImages } from "./kubernetes-manifests.js";
import { durationText, sleep } from "./state.js";

export const DEPLOYMENTS: KubeResource = {
  plural: "deployments",
  namespaced: true,
  base: "/apis/apps/v1",
  kind: "Deployment",
};
export const REPLICASETS: KubeResource = { ...DEPLOYMENTS, plural: "replicasets", kind: "ReplicaSet" };
export const PODS: KubeResource = { plural: "pods", namespaced: true, base: "/api/v1", kind: "Pod" };
export const REVISION = "deployment.kubernetes.io/revision";

export interface RolloutState {
  done: boolean;
  /** Why it can never finish (progress deadline exceeded, paused). */
  failed?: string;
  /** Where it is, in one line. */
  progress: string;
}

/** Where a Deployment's rollout is, from its spec and status alone. */
export function rolloutState(d: KubeObject): RolloutState {
  const name = String(d.metadata?.name);
  const st = d.status ?? {};
  if (d.spec?.paused)
    return {
      done: false,
      failed: `deployment ${name} is paused (resume it: kubectl rollout resume deploy/${name})`,
      progress: "paused",
    };
  if ((st.observedGeneration ?? 0) < (d.metadata?.generation ?? 0))
    return { done: false, progress: `${name}: waiting for the controller to observe the new spec` };
  const progressing = ((st.conditions ?? []) as KubeObject[]).find((c) => c.type === "Progressing");
  const want = d.spec?.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  const total = st.replicas ?? 0;
  const available = st.availableReplicas ?? 0;
  const old = Math.max(0, total - updated);
  const counts = `${updated}/${want} updated${old > 0 ? `, ${old} old still running` : ""}, ${available} available`;
  if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") {
    return {
      done: false,
      failed: `deployment ${name} exceeded its progress deadline of ${durationText((d.spec?.progressDeadlineSeconds ?? 600) * 1000)} (ProgressDeadlineExceeded: ${progressing.message ?? "no message"}); ${counts}`,
      progress: `${name}: progress deadline exceeded`,
    };
  }
  if (updated < want) return { done: false, progress: `${name}: ${updated} of ${want} new replicas updated` };
  if (total > updated)
    return {
      done: false,
      progress: `${name}: ${updated} of ${want} updated, ${old} old replicas pending termination`,
    };
  if (available < want)
    return { done: false, progress: `${name}: ${available} of ${want} updated replicas available` };
  return { done: true, progress: `${name}: ${want}/${want} available` };
}

export async function getDeployment(
  client: KubeClient,
  namespace: string,
  name: string,
  signal?: AbortSignal,
): Promise<KubeObject | undefined> {
  try {
    return await client.request("GET", resourcePath(DEPLOYMENTS, namespace, name), signal ? { signal } : {});
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export interface WaitResult {
  /** Undefined when every rollout finished. */
  problem?: string;
  /** The problem is the caller's abort. */
  aborted?: boolean;
  /** The Deployments as last read. */
  deployments: Map<string, KubeObject>;
}

const POLL_FIRST_MS = 100;
const POLL_MAX_MS = 1000;

/**
 * Waits until every named Deployment has rolled out, one has failed, or the deadline passes;
 * each change of progress goes to `say`. A failure names the pods that hold it up.
 */
export async function waitRollouts(
  client: KubeClient,
  namespace: string,
  names: string[],
  deadline: number,
  timeoutMs: number,
  say: (line: string) => void,
  signal?: AbortSignal,
): Promise<WaitResult> {
  const deployments = new Map<string, KubeObject>();
  const last = new Map<string, string>();
  let pause = POLL_FIRST_MS;
  for (;;) {
    if (signal?.aborted)
      return { problem: "stopped while waiting for the rollout", aborted: true, deployments };
    const pending: Array<{ name: string; state: RolloutState }> = [];
    for (const name of names) {
      const d = await getDeployment(client, namespace, name, signal);
      if (!d) return { problem: `deployment ${name} does not exist in namespace ${namespace}`, deployments };
      deployments.set(name, d);
      const state = rolloutState(d);
      if (last.get(name) !== state.progress) {
        last.set(name, state.progress);
        say(state.done ? `deployment ${name} rolled out` : state.progress);
      }
      if (state.failed)
        return { problem: `${state.failed}${await podsHolding(client, namespace, d, signal)}`, deployments };
      if (!state.done) pending.push({ name, state });
    }
    if (pending.length === 0) return { deployments };
    if (Date.now() + pause >= deadline) {
      const first = pending[0]!;
      const d = deployments.get(first.name)!;
      const others =
        pending.length > 1
          ? ` (and ${pending
              .slice(1)
              .map((p) => p.name)
              .join(", ")})`
          : "";
      return {
        problem: `deployment ${first.name}${others} did not finish its rollout within ${durationText(timeoutMs)}: ${first.state.progress.replace(`${first.name}: `, "")}${await podsHolding(client, namespace, d, signal)}`,
        deployments,
      };
    }
    await sleep(pause, signal);
    pause = Math.min(POLL_MAX_MS, pause * 2);
  }
}

/** The ReplicaSets a Deployment owns, newest revision first. */
export async function replicaSets(
  client: KubeClient,
  namespace: string,
  d: KubeObject,
  signal?: AbortSignal,
): Promise<KubeObject[]> {
  const list = await client.request("GET", resourcePath(REPLICASETS, namespace), {
    query: { labelSelector: selectorText(d.spec?.selector) },
    ...(signal ? { signal } : {}),
  });
  const uid = d.metadata?.uid;
  return ((list.items ?? []) as KubeObject[])
    .filter((rs) =>
      ((rs.metadata?.ownerReferences ?? []) as KubeObject[]).some((o) => o.uid === uid && o.controller),
    )
    .sort((a, b) => revisionOf(b) - revisionOf(a));
}

export const revisionOf = (o: KubeObject) => Number(o.metadata?.annotations?.[REVISION] ?? 0);

/** The ReplicaSet of the Deployment's current pod template: the one of its revision. */
export async function currentReplicaSet(
  client: KubeClient,
  namespace: string,
  d: KubeObject,
  signal?: AbortSignal,
): Promise<KubeObject | undefined> {
  const sets = await replicaSets(client, namespace, d, signal);
  const revision = revisionOf(d);
  return sets.find((rs) => revisionOf(rs) === revision) ?? sets[0];
}

/** The pods of one ReplicaSet. */
export async function podsOf(
  client: KubeClient,
  namespace: string,
  rs: KubeObject,
  signal?: AbortSignal,
): Promise<KubeObject[]> {
  const list = await client.request("GET", resourcePath(PODS, namespace), {
    query: { labelSelector: selectorText(rs.spec?.selector) },
    ...(signal ? { signal } : {}),
  });
  const uid = rs.metadata?.uid;
  return ((list.items ?? []) as KubeObject[]).filter((p) =>
    ((p.metadata?.ownerReferences ?? []) as KubeObject[]).some((o) => o.uid === uid),
  );
}

/** "; pods: api-7c9-x2 CrashLoopBackOff (back-off restarting failed container), …" for the new pods not ready. */
async function podsHolding(
  client: KubeClient,
  namespace: string,
  d: KubeObject,
  signal?: AbortSignal,
): Promise<string> {
  try {
    const rs = await currentReplicaSet(client, namespace, d, signal);
    if (!rs) return "";
    const notReady = (await podsOf(client, namespace, rs, signal)).filter((p) => !podReady(p));
    if (notReady.length === 0) return "";
    const shown = notReady.slice(0, 3).map((p) => `${p.metadata?.name} ${podProblem(p)}`);
    return `; pods: ${shown.join(", ")}${notReady.length > 3 ? ` and ${notReady.length - 3} more` : ""}`;
  } catch {
    return "";
  }
}

export function podReady(p: KubeObject): boolean {
  return ((p.status?.conditions ?? []) as KubeObject[]).some(
    (c) => c.type === "Ready" && c.status === "True",
  );
}

/** Why a pod is not ready, in a few words: the waiting reason of a container, or its phase. */
export function podProblem(p: KubeObject): string {
  for (const s of [
    ...(p.status?.initContainerStatuses ?? []),
    ...(p.status?.containerStatuses ?? []),
  ] as KubeObject[]) {
    const waiting = s.state?.waiting;
    if (waiting?.reason)
      return `${waiting.reason}${waiting.message ? ` (${String(waiting.message).slice(0, 120)})` : ""}`;
    const terminated = s.state?.terminated;
    if (terminated?.reason) return `${terminated.reason} (exit ${terminated.exitCode ?? "?"})`;
  }
  const unscheduled = ((p.status?.conditions ?? []) as KubeObject[]).find(
    (c) => c.type === "PodScheduled" && c.status === "False",
  );
  if (unscheduled) return `unschedulable (${unscheduled.message ?? unscheduled.reason ?? "?"})`;
  return `${p.status?.phase ?? "Pending"}, not ready`;
}

const DIGEST = /@(sha256:[0-9a-f]{64})$/;

export interface DigestCheck {
  /** The one digest every pod runs for the image; undefined when the check failed. */
  digest?: string;
  problem?: string;
  /** Deployments checked, and pods. */
  pods: number;
}

/**
 * What the pods run for `image`: every container of the current ReplicaSet's pods of each
 * Deployment whose template runs `image` must report an imageID with a digest, all the same
 * one. `expected` (the digest the release's tag resolves to, from deploy.digest, a
 * kustomization's pin, or what Gantry recorded when it deployed this version before) must
 * equal it. Gantry does not ask the registry itself.
 */
export async function verifyDigest(
  client: KubeClient,
  namespace: string,
  deployments: KubeObject[],
  image: string,
  tag: string,
  expected: Array<{ digest: string; from: string }>,
  signal?: AbortSignal,
): Promise<DigestCheck> {
  const seen = new Map<string, string[]>();
  let pods = 0;
  for (const d of deployments) {
    const containers = Object.entries(templateImages(d.spec?.template)).filter(
      ([, ref]) => parseImage(ref).name === image,
    );
    if (containers.length === 0) continue;
    const rs = await currentReplicaSet(client, namespace, d, signal);
    if (!rs) return { problem: `deployment ${d.metadata?.name} has no ReplicaSet yet`, pods };
    for (const p of await podsOf(client, namespace, rs, signal)) {
      if (p.metadata?.deletionTimestamp) continue;
      pods++;
      const statuses = [
        ...(p.status?.initContainerStatuses ?? []),
        ...(p.status?.containerStatuses ?? []),
      ] as KubeObject[];
      for (const [name] of containers) {
        const s = statuses.find((c) => c.name === name);
        const id = String(s?.imageID ?? "");
        const m = DIGEST.exec(id);
        if (!m) {
          return {
            problem: `pod ${p.metadata?.name} (container ${name}) reports imageID ${JSON.stringify(id)}, with no registry digest to check ${image}:${tag} against`,
            pods,
          };
        }
        const at = seen.get(m[1]!) ?? [];
        at.push(`${p.metadata?.name}`);
        seen.set(m[1]!, at);
      }
    }
  }
  // Deployments scaled to 0 run nothing to check.
  if (seen.size === 0) return { pods };
  const short = (d: string) => d.slice(0, 19);
  if (seen.size > 1) {
    const list = [...seen].map(
      ([dg, names]) =>
        `${short(dg)}… on ${names.slice(0, 2).join(", ")}${names.length > 2 ? ` and ${names.length - 2} more` : ""}`,
    );
    return { problem: `${image}:${tag} runs as ${seen.size} different digests: ${list.join("; ")}`, pods };
  }
  const digest = [...seen.keys()][0]!;
  for (const e of expected) {
    if (e.digest !== digest) {
      return {
        problem: `the pods run ${image}@${short(digest)}…, while ${tag} is ${short(e.digest)}… (${e.from})`,
        pods,
      };
    }
  }
  return { digest, pods };
}
