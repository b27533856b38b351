/**
 * The kubernetes provider: deploys a version by applying the runbook's manifests (a folder or a
 * kustomization, see kubernetes-manifests.ts) with the release's image `<image>:<tag>`, through
 * the Kubernetes API with server-side apply, then waits for every named Deployment's rollout
 * (kubernetes-rollout.ts) within the deploy's timeout and verifies the image digest its pods
 * run. Without `apply`, it sets the image on the named Deployments in place (as `kubectl set
 * image` does).
 *
 * Every object is first applied as a dry run (dryRun=All): when the cluster refuses one (401,
 * 403, 422 Invalid, 404 for a missing namespace), nothing was changed and the result says
 * started: false.
 *
 * Rollback is `kubectl rollout undo` to the version's own pod template: Gantry records, per
 * version that rolled out, each Deployment's container images, revision and replicas and the
 * digest its pods ran (options.state details). To go back, it copies the pod template of the
 * ReplicaSet that ran those images (the recorded revision first) into the Deployment, which
 * the controller rolls out by scaling that ReplicaSet up again; when that ReplicaSet is gone
 * it sets the recorded images. It then waits for the rollouts and requires the pods to run the
 * recorded digest (a tag pushed again since fails the rollback, loudly). The other objects of
 * the manifests (ConfigMaps, Services…) are not rolled back.
 *
 * Canary by replica ratio: see kubernetes-canary.ts.
 *
 * Replays: a key whose deploy or rollback finished ok, while the cluster still serves that
 * version, does nothing again; an unfinished one is applied again (server-side apply of the
 * same objects changes nothing) and its rollout waited for.
 */
import type { DeployAction } from "../store/provider-state-store.js";
import { createCanary, startCanary } from "./kubernetes-canary.js";
import { sameImages, templateImages } from "./kubernetes-manifests.js";
import {
  type Attempt,
  applyObjects,
  canaryName,
  deleteDeployment,
  detailsOf,
  expectedDigests,
  finishRollout,
  type KubernetesSpec,
  loadRelease,
  makeKube,
  readLive,
  restoreReplicas,
  runTraffic,
  STABLE_REPLICAS,
  setImageIn,
  updateDeployment,
  type VersionDetails,
} from "./kubernetes-ops.js";
import { replicaSets, revisionOf, rolloutState } from "./kubernetes-rollout.js";
import { durationText, effectiveTimeout, sameVersion, thrown } from "./state.js";
import type { DeployRequest, DeployResult, Provider, ProviderOptions, ProviderStatus } from "./types.js";

export type { KubernetesSpec } from "./kubernetes-ops.js";

export function createKubernetesProvider(spec: KubernetesSpec, options: ProviderOptions): Provider {
  const store = options.state;
  const kube = makeKube(spec, options);
  const names = spec.deployments.join(", ");

  // One call at a time per instance: two rollouts of the same Deployments would fight.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => {});
    return run;
  };

  async function attempt(
    action: Exclude<DeployAction, "shift">,
    request: DeployRequest,
    touched: { started: boolean },
    body: (a: Attempt) => Promise<DeployResult>,
  ): Promise<DeployResult> {
    const timeoutMs = effectiveTimeout(spec.timeout.ms, request.timeoutMs);
    const started = Date.now();
    const entry = await store.entry(request.key);
    let begun = false;
    const a: Attempt = {
      kube,
      request,
      action,
      lines: [],
      started,
      deadline: started + timeoutMs,
      timeoutMs,
      touched,
      async begin() {
        if (begun) return;
        begun = true;
        await store.begin({
          key: request.key,
          version: request.version,
          action,
          ...(a.previousVersion ? { previousVersion: a.previousVersion } : {}),
        });
      },
      async fail(message, changed = true) {
        await a.begin();
        await store.finish(request.key, "failed", message);
        // An earlier attempt with this key may have changed something.
        const any = changed || (entry !== undefined && entry.result !== "ok");
        return {
          ok: false,
          started: any,
          ...(a.previousVersion ? { previousVersion: a.previousVersion } : {}),
          message,
          output: a.lines,
        };
      },
      async succeed(message, serving) {
        await store.finish(request.key, "ok", message, serving);
        return {
          ok: true,
          started: true,
          version: request.version,
          ...(a.previousVersion ? { previousVersion: a.previousVersion } : {}),
          message,
          output: a.lines,
        };
      },
    };
    try {
      return await body(a);
    } catch (e) {
      if (request.signal?.aborted) return stoppedWaiting(a);
      return a.fail(
        `${action} of ${request.version} failed: ${options.redact((e as Error).message)}`,
        touched.started,
      );
    }
  }

  const replayed = async (a: Attempt, verb: string): Promise<DeployResult | undefined> => {
    const entry = await store.entry(a.request.key);
    if (entry?.result !== "ok" || !sameVersion(entry.version, a.request.version)) return undefined;
    return {
      ok: true,
      started: true,
      replayed: true,
      version: a.request.version,
      ...(entry.previousVersion ? { previousVersion: entry.previousVersion } : {}),
      message: `${a.request.version} already serving and rolled out; nothing ${verb} again`,
      output: a.lines,
    };
  };

  async function deploy(a: Attempt): Promise<DeployResult> {
    const { version, signal } = a.request;
    const state = await store.read();
    const live = await readLive(kube, signal, state.current);
    const before = live.serving ?? state.current;
    if (before && !sameVersion(before, version)) a.previousVersion = before;
    const weight = a.request.weight;
    if (weight !== undefined && weight > 0 && weight < 1) return startCanary(a, live, weight);
    if (live.serving === version && live.canaries.size === 0) {
      const again = await replayed(a, "deployed");
      if (again) return again;
    }
    const release = loadRelease(kube, version);
    const expected = expectedDigests(kube, version, undefined, release);
    await a.begin();
    const timing = { deadline: a.deadline, ...(signal ? { signal } : {}) };
    const ref = spec.image
      ? `${spec.image}:${kube.tag(version)}${release.pinned ? `@${release.pinned}` : ""}`
      : "";
    const write = (dryRun: boolean) =>
      spec.apply
        ? applyObjects(kube, release.objects, { dryRun, ...timing })
        : Promise.all(
            spec.deployments.map((name) =>
              updateDeployment(kube, name, (d) => setImageIn(d, spec.image!, ref), { ...timing, dryRun }),
            ),
          );
    try {
      await write(true);
    } catch (e) {
      return a.fail(
        `the cluster refused ${spec.apply ? `the manifests of ${version}` : `the image ${ref}`}, nothing was changed: ${options.redact((e as Error).message)}`,
        false,
      );
    }
    a.touched.started = true;
    await write(false);
    kube.say(
      spec.apply
        ? `applied ${release.objects.length} object${release.objects.length === 1 ? "" : "s"} of ${version} to namespace ${kube.namespace()}`
        : `set ${ref} on ${names}`,
      a.lines,
    );
    for (const [name, d] of live.deployments)
      if (d?.metadata?.annotations?.[STABLE_REPLICAS] !== undefined)
        await restoreReplicas(kube, name, release.deployments.get(name), timing);
    const fin = await finishRollout(
      kube,
      spec.deployments,
      version,
      expected,
      { ...timing, timeoutMs: a.timeoutMs },
      a.lines,
    );
    if (fin.aborted) return stoppedWaiting(a);
    if (!fin.ok) return a.fail(`applied ${version}, but ${fin.note}`);
    // A full deploy supersedes a canary left running.
    for (const name of live.canaries.keys()) await deleteDeployment(kube, canaryName(name), timing);
    if (live.canaries.size > 0) {
      const problem = await runTraffic(kube, 100, { version }, a.lines, timing);
      if (problem) return a.fail(`deployed ${version} and removed the canary, but ${problem}`);
    }
    await store.setDetails(version, { ...detailsOf(fin.deployments, fin.digest) });
    const message = `deployed ${version} to ${names} in ${durationText(Date.now() - a.started)}${a.previousVersion ? ` (was ${a.previousVersion})` : ""}${fin.digest ? `; pods run ${fin.digest.slice(0, 19)}…` : ""}`;
    return a.succeed(message, version);
  }

  async function rollback(a: Attempt): Promise<DeployResult> {
    const { version, signal } = a.request;
    const state = await store.read();
    const live = await readLive(kube, signal, state.current);
    const canaryVersion = [...live.canaries.values()][0]?.metadata?.annotations?.["gantry.dev/version"];
    const before =
      live.canaries.size > 0 ? (canaryVersion ?? state.current) : (live.serving ?? state.current);
    if (before && !sameVersion(before, version)) a.previousVersion = before;
    if (live.serving === version && live.canaries.size === 0) {
      const again = await replayed(a, "rolled back");
      if (again) return again;
    }
    const details = (await store.details(version)) as VersionDetails | undefined;
    await a.begin();
    const timing = { deadline: a.deadline, ...(signal ? { signal } : {}) };
    const client = kube.client();
    const ns = kube.namespace();

    // The canary first: its pods stop taking traffic at once.
    const stable = new Map<string, number>();
    for (const [name, c] of live.canaries) {
      const n = Number(
        live.deployments.get(name)?.metadata?.annotations?.[STABLE_REPLICAS] ??
          c.metadata?.annotations?.[STABLE_REPLICAS],
      );
      if (Number.isInteger(n) && n > 0) stable.set(name, n);
      a.touched.started = true;
      await deleteDeployment(kube, canaryName(name), timing);
      kube.say(`deleted deployment ${canaryName(name)}`, a.lines);
    }
    if (live.canaries.size > 0) {
      const problem = await runTraffic(
        kube,
        0,
        { version: before ?? version, previousVersion: version },
        a.lines,
        timing,
      );
      if (problem) kube.say(`removed the canary, but ${problem}`, a.lines);
    }

    const how: string[] = [];
    for (const name of spec.deployments) {
      const d = live.deployments.get(name);
      if (!d)
        return a.fail(
          `cannot roll back to ${version}: deployment ${name} does not exist in namespace ${ns}`,
          a.touched.started,
        );
      const leftover = Number(d.metadata?.annotations?.[STABLE_REPLICAS]);
      if (!stable.has(name) && Number.isInteger(leftover) && leftover > 0) stable.set(name, leftover);
      let target = details?.images?.[name];
      if (!target && spec.image) {
        const copy = structuredClone(d);
        setImageIn(copy, spec.image, `${spec.image}:${kube.tag(version)}`);
        target = templateImages(copy.spec?.template);
      }
      if (!target)
        return a.fail(
          `Gantry has no record of the images ${version} ran on ${name}, and deploy.image is not set`,
          a.touched.started,
        );
      const want = target;
      const sets = await replicaSets(client, ns, d, signal);
      const recorded = details?.revisions?.[name];
      const rs =
        sets.find((s) => revisionOf(s) === recorded && sameImages(templateImages(s.spec?.template), want)) ??
        sets.find((s) => sameImages(templateImages(s.spec?.template), want));
      const replicas = stable.get(name);
      let changedTemplate = false;
      a.touched.started = true;
      await updateDeployment(
        kube,
        name,
        (live) => {
          let changed = false;
          if (!sameImages(templateImages(live.spec?.template), want)) {
            if (rs) {
              const template = structuredClone(rs.spec.template);
              if (template.metadata?.labels) delete template.metadata.labels["pod-template-hash"];
              live.spec.template = template;
            } else {
              for (const list of ["initContainers", "containers"])
                for (const c of live.spec?.template?.spec?.[list] ?? [])
                  if (want[c.name]) c.image = want[c.name];
            }
            changed = changedTemplate = true;
          }
          if (replicas !== undefined && live.spec.replicas !== replicas) {
            live.spec.replicas = replicas;
            changed = true;
          }
          if (live.metadata?.annotations?.[STABLE_REPLICAS] !== undefined) {
            delete live.metadata.annotations[STABLE_REPLICAS];
            changed = true;
          }
          return changed;
        },
        timing,
      );
      how.push(
        changedTemplate
          ? `${name} to ${rs ? `revision ${revisionOf(rs)}'s pod template` : "its recorded images"}`
          : `${name} already on ${version}${replicas !== undefined ? `, back to ${replicas} replicas` : ""}`,
      );
    }
    kube.say(`rolling back: ${how.join("; ")}`, a.lines);
    const fin = await finishRollout(
      kube,
      spec.deployments,
      version,
      expectedDigests(kube, version, details, undefined, false),
      { ...timing, timeoutMs: a.timeoutMs },
      a.lines,
    );
    if (fin.aborted) return stoppedWaiting(a);
    if (!fin.ok) return a.fail(`rolled back ${names} to ${version}, but ${fin.note}`);
    await store.setDetails(version, { ...detailsOf(fin.deployments, fin.digest) });
    const message = `rolled back to ${version} in ${durationText(Date.now() - a.started)}${a.previousVersion ? ` (was ${a.previousVersion})` : ""}: ${how.join("; ")}${live.canaries.size > 0 ? "; canary removed" : ""}`;
    return a.succeed(message, version);
  }

  const stoppedWaiting = (a: Attempt): DeployResult => ({
    ok: false,
    started: true,
    message: `stopped waiting for the rollout of ${a.request.version} (${names}); it goes on in the cluster, and a retry with the same key resumes the wait`,
    output: a.lines,
  });

  const guarded = (action: Exclude<DeployAction, "shift">, request: DeployRequest) =>
    serial(() => {
      const touched = { started: false };
      return attempt(action, request, touched, action === "deploy" ? deploy : rollback).catch(
        (e: unknown): DeployResult => thrown(action, request.version, e, options.redact, touched.started),
      );
    });

  return {
    name: "kubernetes",
    canary: createCanary(kube, serial),

    async status(signal?: AbortSignal): Promise<ProviderStatus> {
      try {
        const state = await store.read();
        const live = await readLive(kube, signal);
        const problems: string[] = [];
        const counts: string[] = [];
        for (const [name, d] of live.deployments) {
          if (!d) {
            problems.push(`deployment ${name} does not exist in namespace ${kube.namespace()}`);
            continue;
          }
          const s = rolloutState(d);
          if (!s.done) problems.push(s.failed ?? s.progress);
          else counts.push(`${name} ${d.status?.availableReplicas ?? 0}/${d.spec?.replicas ?? 1}`);
        }
        for (const [name, c] of live.canaries) {
          const s = rolloutState(c);
          if (!s.done) problems.push(s.failed ?? s.progress);
          counts.push(
            `canary ${c.metadata?.annotations?.["gantry.dev/version"] ?? "?"} on ${canaryName(name)} ${c.status?.availableReplicas ?? 0}/${c.spec?.replicas ?? 1}`,
          );
        }
        const tags = new Set([...live.tags.values()].filter((t) => t !== undefined));
        const version = spec.image
          ? tags.size === 1
            ? kube.versionOfTag([...tags][0])
            : undefined
          : state.current;
        const label = version ?? (tags.size > 1 ? `mixed tags (${[...tags].join(", ")})` : "unknown version");
        return {
          ...(version ? { version } : {}),
          healthy: problems.length === 0,
          message:
            problems.length === 0
              ? `${label}: rolled out (${counts.join(", ")})`
              : `${label} unhealthy: ${problems.join("; ")}`,
        };
      } catch (e) {
        return { healthy: false, message: options.redact((e as Error).message) };
      }
    },

    lastKnownGood: () => store.lastKnownGood(),
    deploy: (request) => guarded("deploy", request),
    rollback: (request) => guarded("rollback", request),
    markGood: (version) => store.markGood(version),
    async stop() {
      kube.close();
    },
  };
}
