/**
 * The kubernetes provider's canary, by replica ratio. For a weight w and each named Deployment
 * D serving N replicas, Gantry runs a Deployment `D-canary`: D's pod template from the new
 * version's manifests with the new image, an extra label gantry.dev/track: canary (on its
 * selector and pods too, so D's ReplicaSets never count them), and every other label kept, so
 * the Services that select D's pods select the canary's as well. It gets round(w·N) replicas,
 * at least 1 and (for N ≥ 2) at most N − 1; D is scaled to N minus that (at least 1), and
 * remembers N in its annotation gantry.dev/stable-replicas. Traffic then splits as the ready
 * pods do: the share reported is the canary's replicas over all, summed over the Deployments.
 *
 * Only the canary Deployments are created when a canary starts; the other objects of the new
 * manifests (ConfigMaps, Services…) are applied when it is promoted, so a rollback leaves the
 * stable version exactly as it was.
 *
 * shift(w) moves the replicas (the growing side first, then the shrinking one); shift(1)
 * promotes: the full manifests applied (D gets the new image and its N replicas back), D's
 * rollout waited for and its digest verified, then D-canary deleted. A rollback (in
 * kubernetes.ts) deletes D-canary first and scales D back to N.
 *
 * deploy.traffic, when given, runs after each change with {{ canary.weight }}: the share asked
 * for, for a router that splits traffic itself (then that share is what shift reports).
 */

import type { KubeObject } from "./kubernetes-client.js";
import {
  type Attempt,
  annotate,
  applyObjects,
  CANARY_OF,
  canaryName,
  deleteDeployment,
  detailsOf,
  expectedDigests,
  finishRollout,
  type Kube,
  type Live,
  loadRelease,
  readLive,
  restoreReplicas,
  runTraffic,
  STABLE_REPLICAS,
  scaleDeployment,
  setImageIn,
  TRACK_LABEL,
  updateDeployment,
  VERSION_ANNOTATION,
} from "./kubernetes-ops.js";
import { rolloutState, waitRollouts } from "./kubernetes-rollout.js";
import { durationText, effectiveTimeout, sameVersion } from "./state.js";
import type { Canary, DeployResult, ShiftRequest, ShiftResult } from "./types.js";

/** The canary's and the stable version's replicas for `weight` of `n`. */
export function canaryReplicas(weight: number, n: number): { canary: number; stable: number } {
  if (weight >= 1) return { canary: n, stable: 0 };
  const canary = n <= 1 ? 1 : Math.max(1, Math.min(n - 1, Math.round(weight * n)));
  return { canary, stable: Math.max(1, n - canary) };
}

/** The canary's share of all replicas, over every Deployment. */
export function replicaShare(plan: Array<{ canary: number; stable: number }>): number {
  const canary = plan.reduce((s, p) => s + p.canary, 0);
  const all = plan.reduce((s, p) => s + p.canary + p.stable, 0);
  return all === 0 ? 0 : canary / all;
}

/** D-canary, from the new version's Deployment D: the track label, N recorded, `replicas` of its own. */
export function canaryObject(
  d: KubeObject,
  version: string,
  stableReplicas: number,
  replicas: number,
): KubeObject {
  const name = String(d.metadata.name);
  const source = structuredClone(d);
  const labels = { ...(source.metadata?.labels ?? {}), [TRACK_LABEL]: "canary" };
  const selector = source.spec?.selector ?? {};
  const template = source.spec?.template ?? {};
  template.metadata = {
    ...(template.metadata ?? {}),
    labels: { ...(template.metadata?.labels ?? {}), [TRACK_LABEL]: "canary" },
  };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: canaryName(name),
      labels,
      annotations: {
        [CANARY_OF]: name,
        [STABLE_REPLICAS]: String(stableReplicas),
        [VERSION_ANNOTATION]: version,
      },
    },
    spec: {
      ...source.spec,
      replicas,
      selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), [TRACK_LABEL]: "canary" } },
      template,
    },
  };
}

/** The new version's Deployment D: from the manifests, or (without `apply`) the live one with the new image. */
function newDeployment(
  a: Attempt,
  live: Live,
  release: ReturnType<typeof loadRelease>,
  name: string,
): KubeObject {
  const fromManifest = release.deployments.get(name);
  if (fromManifest) return fromManifest;
  const d = structuredClone(live.deployments.get(name)!);
  const spec = a.kube.spec;
  if (spec.image) setImageIn(d, spec.image, `${spec.image}:${a.kube.tag(a.request.version)}`);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels: d.metadata?.labels ?? {} },
    spec: d.spec,
  };
}

const stableOf = (live: Live, name: string): number => {
  const recorded = Number(
    live.deployments.get(name)?.metadata?.annotations?.[STABLE_REPLICAS] ??
      live.canaries.get(name)?.metadata?.annotations?.[STABLE_REPLICAS],
  );
  return Number.isInteger(recorded) && recorded > 0
    ? recorded
    : (live.deployments.get(name)?.spec?.replicas ?? 1);
};

const describe = (kube: Kube, plan: Array<{ name: string; canary: number; stable: number }>) =>
  plan.map((p) => `${canaryName(p.name)} ${p.canary}/${p.canary + p.stable}`).join(", ") +
  ` replicas (${Math.round(replicaShare(plan) * 1000) / 10}%)${kube.spec.traffic ? "" : ", traffic by replica ratio"}`;

/** deploy({ weight }): the canary Deployments started beside the serving version. */
export async function startCanary(a: Attempt, live: Live, weight: number): Promise<DeployResult> {
  const { kube } = a;
  const { spec } = kube;
  const { version, key, signal } = a.request;
  for (const name of spec.deployments) {
    const d = live.deployments.get(name);
    if (!d || !rolloutState(d).done)
      return a.fail(
        `a canary of ${version} starts beside a serving version, but deployment ${name} ${d ? "has not rolled out" : "does not exist"}; deploy without a canary first`,
        false,
      );
  }
  const entry = await kube.options.state.entry(key);
  const running = spec.deployments.every(
    (n) => live.canaries.get(n)?.metadata?.annotations?.[VERSION_ANNOTATION] === version,
  );
  if (entry?.result === "ok" && sameVersion(entry.version, version) && running) {
    return {
      ok: true,
      started: true,
      replayed: true,
      version,
      ...(a.previousVersion ? { previousVersion: a.previousVersion } : {}),
      message: `canary ${version} already running; nothing started again`,
      output: a.lines,
    };
  }
  const release = loadRelease(kube, version);
  const expected = expectedDigests(kube, version, undefined, release);
  const plan = spec.deployments.map((name) => ({
    name,
    n: stableOf(live, name),
    ...canaryReplicas(weight, stableOf(live, name)),
  }));
  const objects = plan.map((p) => ({
    object: canaryObject(newDeployment(a, live, release, p.name), version, p.n, p.canary),
    source: `canary of ${p.name}`,
  }));
  await a.begin();
  const timing = { deadline: a.deadline, ...(signal ? { signal } : {}) };
  try {
    await applyObjects(kube, objects, { dryRun: true, ...timing });
  } catch (e) {
    return a.fail(
      `the cluster refused the canary of ${version}, nothing was changed: ${kube.options.redact((e as Error).message)}`,
      false,
    );
  }
  a.touched.started = true;
  await applyObjects(kube, objects, { dryRun: false, ...timing });
  for (const p of plan) {
    await annotate(kube, p.name, STABLE_REPLICAS, String(p.n), timing);
    await scaleDeployment(kube, p.name, p.stable, timing);
  }
  kube.say(`started the canary of ${version}: ${describe(kube, plan)}`, a.lines);
  const canaries = plan.map((p) => canaryName(p.name));
  const fin = await finishRollout(
    kube,
    [...canaries, ...spec.deployments],
    version,
    expected,
    { ...timing, timeoutMs: a.timeoutMs },
    a.lines,
    canaries,
  );
  if (!fin.ok) return a.fail(`started the canary of ${version}, but ${fin.note}`);
  const problem = await runTraffic(
    kube,
    weight * 100,
    { version, ...(a.previousVersion ? { previousVersion: a.previousVersion } : {}) },
    a.lines,
    timing,
  );
  if (problem) return a.fail(`started the canary of ${version}, but ${problem}`);
  const message = `canary ${version} started in ${durationText(Date.now() - a.started)}: ${describe(kube, plan)}${a.previousVersion ? `; ${a.previousVersion} serves the rest` : ""}`;
  // What serves stays the stable version until the canary is promoted.
  return a.succeed(message);
}

export function createCanary(kube: Kube, serial: <T>(task: () => Promise<T>) => Promise<T>): Canary {
  const { spec, options } = kube;
  const store = options.state;

  async function shift(request: ShiftRequest): Promise<ShiftResult> {
    const { version, weight, key, signal } = request;
    const timeoutMs = effectiveTimeout(spec.timeout.ms, request.timeoutMs);
    const started = Date.now();
    const deadline = started + timeoutMs;
    const timing = { deadline, ...(signal ? { signal } : {}) };
    const lines: string[] = [];
    const live = await readLive(kube, signal, (await store.read()).current);
    const current = spec.deployments.map((name) => ({
      name,
      canary: live.canaries.get(name)?.spec?.replicas ?? 0,
      stable: live.deployments.get(name)?.spec?.replicas ?? 0,
    }));
    const entry = await store.entry(key);
    if (entry?.result === "ok" && sameVersion(entry.version, version)) {
      const promoted = weight >= 1 && live.canaries.size === 0;
      return {
        ok: true,
        replayed: true,
        weight: promoted ? 1 : spec.traffic ? weight : replicaShare(current),
        message: `${entry.message ?? "shifted"} (already done; not shifted again)`,
        output: lines,
      };
    }
    const stable = live.serving ?? (await store.read()).current;
    const values = {
      version,
      ...(stable && !sameVersion(stable, version) ? { previousVersion: stable } : {}),
    };
    await store.begin({
      key,
      version,
      action: "shift",
      ...(values.previousVersion ? { previousVersion: values.previousVersion } : {}),
    });
    const fail = async (message: string): Promise<ShiftResult> => {
      await store.finish(key, "failed", message);
      return { ok: false, weight: replicaShare(current), message, output: lines };
    };
    const missing = spec.deployments.filter(
      (n) => live.canaries.get(n)?.metadata?.annotations?.[VERSION_ANNOTATION] !== version,
    );
    // A promotion replayed after its canaries were deleted finds none: it applies the version again.
    if (weight >= 1)
      return promote(
        request,
        live,
        values,
        lines,
        timing,
        timeoutMs,
        fail,
        missing.length === spec.deployments.length,
      );
    if (missing.length > 0)
      return fail(`no canary of ${version} runs for ${missing.join(", ")}; start one with a canary deploy`);

    const plan = spec.deployments.map((name) => ({ name, ...canaryReplicas(weight, stableOf(live, name)) }));
    const now = new Map(current.map((c) => [c.name, c]));
    // The side that grows first, so that capacity never drops below N.
    const grow = plan.flatMap((p) => [
      ...(p.canary > now.get(p.name)!.canary ? [{ name: canaryName(p.name), replicas: p.canary }] : []),
      ...(p.stable > now.get(p.name)!.stable ? [{ name: p.name, replicas: p.stable }] : []),
    ]);
    const shrink = plan.flatMap((p) => [
      ...(p.canary < now.get(p.name)!.canary ? [{ name: canaryName(p.name), replicas: p.canary }] : []),
      ...(p.stable < now.get(p.name)!.stable ? [{ name: p.name, replicas: p.stable }] : []),
    ]);
    for (const step of [grow, shrink]) {
      for (const s of step) await scaleDeployment(kube, s.name, s.replicas, timing);
      const wait = await waitRollouts(
        kube.client(),
        kube.namespace(),
        step.map((s) => s.name),
        deadline,
        timeoutMs,
        (l) => kube.say(l, lines),
        signal,
      );
      if (wait.problem)
        return fail(`shifting the canary of ${version} to ${describe(kube, plan)}: ${wait.problem}`);
    }
    const problem = await runTraffic(kube, weight * 100, values, lines, timing);
    if (problem) return fail(`moved the canary of ${version} to ${describe(kube, plan)}, but ${problem}`);
    const message = `canary ${version}: ${describe(kube, plan)}`;
    await store.finish(key, "ok", message);
    kube.say(message, lines);
    return { ok: true, weight: spec.traffic ? weight : replicaShare(plan), message, output: lines };
  }

  async function promote(
    request: ShiftRequest,
    live: Live,
    values: { version: string; previousVersion?: string },
    lines: string[],
    timing: { deadline: number; signal?: AbortSignal },
    timeoutMs: number,
    fail: (message: string) => Promise<ShiftResult>,
    noCanary: boolean,
  ): Promise<ShiftResult> {
    const { version, key } = request;
    const started = Date.now();
    const release = loadRelease(kube, version);
    const expected = expectedDigests(kube, version, undefined, release);
    const ref = spec.image
      ? `${spec.image}:${kube.tag(version)}${release.pinned ? `@${release.pinned}` : ""}`
      : "";
    if (spec.apply) await applyObjects(kube, release.objects, { dryRun: false, ...timing });
    else
      for (const name of spec.deployments)
        await updateDeployment(kube, name, (d) => setImageIn(d, spec.image!, ref), timing);
    for (const name of spec.deployments)
      await restoreReplicas(kube, name, release.deployments.get(name), timing);
    const fin = await finishRollout(
      kube,
      spec.deployments,
      version,
      expected,
      { ...timing, timeoutMs },
      lines,
    );
    if (!fin.ok) return fail(`promoting ${version}: ${fin.note}`);
    for (const name of live.canaries.keys()) await deleteDeployment(kube, canaryName(name), timing);
    const problem = await runTraffic(kube, 100, values, lines, timing);
    if (problem) return fail(`promoted ${version}, but ${problem}`);
    await store.setDetails(version, { ...detailsOf(fin.deployments, fin.digest) });
    const counts = [...fin.deployments].map(([n, d]) => `${n} ${d.spec?.replicas ?? 1}`).join(", ");
    const message = `promoted ${version} in ${durationText(Date.now() - started)}: ${counts} replicas${noCanary ? "" : "; canary removed"}${values.previousVersion ? ` (was ${values.previousVersion})` : ""}`;
    await store.finish(key, "ok", message, version);
    kube.say(message, lines);
    return { ok: true, weight: 1, message, output: lines };
  }

  return {
    shift: (request) =>
      serial(() =>
        shift(request).catch(async (e: unknown): Promise<ShiftResult> => {
          const message = `shift of ${request.version} to ${Math.round(request.weight * 1000) / 10}% failed: ${options.redact((e as Error).message)}`;
          await store.finish(request.key, "failed", message).catch(() => undefined);
          return { ok: false, weight: 0, message };
        }),
      ),
  };
}
