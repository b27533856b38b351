/**
 * What the kubernetes provider does to a cluster, shared by its deploy, rollback and canary
 * paths: the release's manifests read and given the release's image, every object applied by
 * server-side apply (PATCH application/apply-patch+yaml, fieldManager=gantry, force=true: the
 * manifests are the truth, as with a CD tool), a dry run of all of them first (dryRun=All) so
 * that a refused object changes nothing, in-place updates of a Deployment (GET, change, PUT
 * with its resourceVersion, again on 409 Conflict), scaling through the scale subresource, and
 * the rollouts waited for and their digest verified.
 */
import path from "node:path";
import type * as z from "zod";
import { runCommand } from "../exec/command.js";
import type { Deploy } from "../runbook/schema/flow.js";
import type { DeployAction } from "../store/provider-state-store.js";
import { isConflict, isNotFound, KubeClient, type KubeObject, resourcePath } from "./kubernetes-client.js";
import {
  type ManifestObject,
  parseImage,
  readManifests,
  setReleaseImage,
  templateImages,
  templateTag,
} from "./kubernetes-manifests.js";
import {
  DEPLOYMENTS,
  getDeployment,
  revisionOf,
  rolloutState,
  verifyDigest,
  waitRollouts,
} from "./kubernetes-rollout.js";
import { durationText } from "./state.js";
import type { DeployRequest, DeployResult, ProviderOptions } from "./types.js";

export type KubernetesSpec = Extract<z.output<typeof Deploy>, { provider: "kubernetes" }>;

export const FIELD_MANAGER = "gantry";
export const TRACK_LABEL = "gantry.dev/track";
export const CANARY_OF = "gantry.dev/canary-of";
export const STABLE_REPLICAS = "gantry.dev/stable-replicas";
export const VERSION_ANNOTATION = "gantry.dev/version";
const CONFLICT_RETRIES = 5;
const SENTINEL = "GANTRY-VERSION-5c1f";

/** What Gantry records of a version that rolled out (options.state details), to serve it again. */
export interface VersionDetails {
  /** Per Deployment: container name → image. */
  images: Record<string, Record<string, string>>;
  /** Per Deployment: the revision it had (deployment.kubernetes.io/revision). */
  revisions: Record<string, number>;
  replicas: Record<string, number>;
  /** The digest its pods ran for deploy.image. */
  digest?: string;
}

/** The provider's handle on the cluster, one per provider instance. */
export interface Kube {
  spec: KubernetesSpec;
  options: ProviderOptions;
  client(): KubeClient;
  namespace(): string;
  /** The image tag of a version (deploy.tag). */
  tag(version: string): string;
  /** The version an image tag stands for (the inverse of deploy.tag), when it can tell. */
  versionOfTag(tag: string | undefined): string | undefined;
  /** An output line, redacted, to onLine and the call's lines. */
  say(line: string, lines?: string[]): void;
  close(): void;
}

export function makeKube(spec: KubernetesSpec, options: ProviderOptions): Kube {
  let client: KubeClient | undefined;
  const get = () => {
    client ??= new KubeClient({
      ...(spec.kubeconfig ? { kubeconfig: spec.kubeconfig } : {}),
      ...(spec.context ? { context: spec.context } : {}),
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
    });
    return client;
  };
  const tag = (version: string) => options.text(spec.tag, { version });
  let affix: { prefix: string; suffix: string } | null | undefined;
  return {
    spec,
    options,
    client: get,
    namespace: () => spec.namespace ?? get().contextNamespace ?? "default",
    tag,
    versionOfTag(t) {
      if (t === undefined) return undefined;
      if (affix === undefined) {
        const filled = tag(SENTINEL);
        const at = filled.indexOf(SENTINEL);
        affix =
          at >= 0 && filled.indexOf(SENTINEL, at + 1) < 0
            ? { prefix: filled.slice(0, at), suffix: filled.slice(at + SENTINEL.length) }
            : null;
      }
      if (!affix) return t;
      const { prefix, suffix } = affix;
      return t.startsWith(prefix) && t.endsWith(suffix) && t.length > prefix.length + suffix.length
        ? t.slice(prefix.length, t.length - suffix.length)
        : undefined;
    },
    say(line, lines) {
      const redacted = options.redact(line);
      lines?.push(redacted);
      if (lines && lines.length > 40) lines.shift();
      options.onLine?.(redacted);
    },
    close() {
      client?.close();
      client = undefined;
    },
  };
}

/** One deploy or rollback call under way. */
export interface Attempt {
  kube: Kube;
  request: DeployRequest;
  action: Exclude<DeployAction, "shift">;
  lines: string[];
  started: number;
  deadline: number;
  timeoutMs: number;
  /** Set once the call has changed something in the cluster. */
  touched: { started: boolean };
  /** The version serving before, when known. */
  previousVersion?: string;
  /** Records the entry (once). */
  begin(): Promise<void>;
  /** Records the failure; `changed`: whether this call changed anything (default true). */
  fail(message: string, changed?: boolean): Promise<DeployResult>;
  /** Records the success; `serving`: the version that serves now (undefined: as it was). */
  succeed(message: string, serving?: string): Promise<DeployResult>;
}

/**
 * Runs deploy.traffic with {{ canary.weight }} (and $GANTRY_CANARY_WEIGHT) as `percent`; the
 * problem in one line, or undefined when it exited 0 (or there is no traffic command).
 */
export async function runTraffic(
  kube: Kube,
  percent: number,
  values: { version: string; previousVersion?: string },
  lines: string[],
  timing: { deadline: number; signal?: AbortSignal },
): Promise<string | undefined> {
  const template = kube.spec.traffic;
  if (!template) return undefined;
  const weight = String(Math.round(percent * 100) / 100);
  const command = kube.options.render(template, { ...values, weight: percent / 100 });
  const timeoutMs = Math.max(1000, timing.deadline - Date.now());
  const result = await runCommand(command, {
    cwd: kube.options.cwd,
    env: { ...kube.options.env, GANTRY_CANARY_WEIGHT: weight },
    timeoutMs,
    ...(timing.signal ? { signal: timing.signal } : {}),
    onLine: (line) => kube.say(line, lines),
  });
  if (result.timedOut) return `the traffic command timed out after ${durationText(timeoutMs)}`;
  if (result.aborted) return "the traffic command was stopped";
  if (result.problem) return `the traffic command failed: ${result.problem}`;
  if (result.exitCode !== 0) {
    const last = result.output.at(-1)?.trim();
    return `the traffic command failed with exit ${result.exitCode ?? "?"}${last ? ` (last output: ${JSON.stringify(kube.options.redact(last))})` : ""}`;
  }
  return undefined;
}

export interface Release {
  /** Every object to apply, the release's image set. */
  objects: ManifestObject[];
  /** The manifests' Deployment of each named deployment (absent without `apply`). */
  deployments: Map<string, KubeObject>;
  /** A digest a kustomization pins for deploy.image. */
  pinned?: string;
}

/** The release's objects: the manifests at deploy.apply, with deploy.image set to the version's tag. */
export function loadRelease(kube: Kube, version: string): Release {
  const { spec, options } = kube;
  if (!spec.apply) return { objects: [], deployments: new Map() };
  const target = path.resolve(options.cwd, options.text(spec.apply, { version }));
  const manifests = readManifests(target);
  const objects = manifests.objects;
  const pinned = spec.image ? manifests.pinned.get(spec.image) : undefined;
  if (spec.image && setReleaseImage(objects, spec.image, kube.tag(version), pinned) === 0) {
    throw new Error(
      `no container in ${spec.apply} runs ${spec.image} (deploy.image): there is nothing to set to ${kube.tag(version)}`,
    );
  }
  const deployments = new Map<string, KubeObject>();
  const ns = kube.namespace();
  for (const o of objects) {
    if (o.object.kind !== "Deployment" || !String(o.object.apiVersion).startsWith("apps/")) continue;
    const name = String(o.object.metadata.name);
    if (!spec.deployments.includes(name)) continue;
    const at = o.namespace ?? o.object.metadata.namespace ?? ns;
    if (at !== ns)
      throw new Error(
        `${o.source}: deployment ${name} goes to namespace ${at}, but deploy.namespace is ${ns}`,
      );
    deployments.set(name, o.object);
  }
  const missing = spec.deployments.filter((d) => !deployments.has(d));
  if (missing.length > 0)
    throw new Error(
      `${spec.apply} has no Deployment ${missing.join(", ")} (deploy.deployments); it has ${
        objects
          .filter((o) => o.object.kind === "Deployment")
          .map((o) => o.object.metadata.name)
          .join(", ") || "none"
      }`,
    );
  return { objects, deployments, ...(pinned ? { pinned } : {}) };
}

/** Namespaces first, then the rest in the manifests' order. */
function ordered(objects: ManifestObject[]): ManifestObject[] {
  return [
    ...objects.filter((o) => o.object.kind === "Namespace"),
    ...objects.filter((o) => o.object.kind !== "Namespace"),
  ];
}

/** Server-side apply of every object (a dry run when `dryRun`); the objects as the cluster returned them. */
export async function applyObjects(
  kube: Kube,
  objects: ManifestObject[],
  options: { dryRun: boolean; deadline: number; signal?: AbortSignal },
): Promise<KubeObject[]> {
  const client = kube.client();
  const out: KubeObject[] = [];
  for (const o of ordered(objects)) {
    const r = await client.resource(String(o.object.apiVersion), String(o.object.kind), {
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const body: KubeObject = structuredClone(o.object);
    const namespace = r.namespaced ? (o.namespace ?? body.metadata.namespace ?? kube.namespace()) : undefined;
    if (namespace) body.metadata.namespace = namespace;
    else delete body.metadata.namespace;
    out.push(
      await client.request("PATCH", resourcePath(r, namespace, String(body.metadata.name)), {
        body,
        contentType: "application/apply-patch+yaml",
        query: { fieldManager: FIELD_MANAGER, force: "true", ...(options.dryRun ? { dryRun: "All" } : {}) },
        deadline: options.deadline,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
  }
  return out;
}

/**
 * Changes a Deployment in place: GET, `change` (false: nothing to change), PUT with its
 * resourceVersion; again from the GET when another writer came between (409 Conflict).
 */
export async function updateDeployment(
  kube: Kube,
  name: string,
  change: (d: KubeObject) => boolean,
  options: { deadline: number; signal?: AbortSignal; dryRun?: boolean },
): Promise<KubeObject> {
  const client = kube.client();
  const ns = kube.namespace();
  for (let attempt = 0; ; attempt++) {
    const d = await getDeployment(client, ns, name, options.signal);
    if (!d) throw new Error(`deployment ${name} does not exist in namespace ${ns}`);
    if (!change(d)) return d;
    try {
      return await client.request("PUT", resourcePath(DEPLOYMENTS, ns, name), {
        body: d,
        query: { fieldManager: FIELD_MANAGER, ...(options.dryRun ? { dryRun: "All" } : {}) },
        deadline: options.deadline,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (e) {
      if (!isConflict(e) || attempt >= CONFLICT_RETRIES) throw e;
    }
  }
}

/** Sets a Deployment's replicas through its scale subresource. */
export async function scaleDeployment(
  kube: Kube,
  name: string,
  replicas: number,
  options: { deadline: number; signal?: AbortSignal },
): Promise<void> {
  await kube.client().request("PATCH", resourcePath(DEPLOYMENTS, kube.namespace(), name, "scale"), {
    body: { spec: { replicas } },
    contentType: "application/merge-patch+json",
    query: { fieldManager: FIELD_MANAGER },
    deadline: options.deadline,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export async function deleteDeployment(
  kube: Kube,
  name: string,
  options: { deadline: number; signal?: AbortSignal },
) {
  try {
    await kube.client().request("DELETE", resourcePath(DEPLOYMENTS, kube.namespace(), name), {
      body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" },
      deadline: options.deadline,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Sets (or with null removes) one annotation of a Deployment, by a JSON merge patch: no rollout. */
export async function annotate(
  kube: Kube,
  name: string,
  key: string,
  value: string | null,
  options: { deadline: number; signal?: AbortSignal },
): Promise<void> {
  await kube.client().request("PATCH", resourcePath(DEPLOYMENTS, kube.namespace(), name), {
    body: { metadata: { annotations: { [key]: value } } },
    contentType: "application/merge-patch+json",
    query: { fieldManager: FIELD_MANAGER },
    deadline: options.deadline,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/**
 * After a canary: the stable Deployment's replicas back to what it had before (recorded in its
 * gantry.dev/stable-replicas annotation), unless the manifests applied set them; the annotation
 * removed.
 */
export async function restoreReplicas(
  kube: Kube,
  name: string,
  manifest: KubeObject | undefined,
  options: { deadline: number; signal?: AbortSignal },
): Promise<void> {
  const live = await getDeployment(kube.client(), kube.namespace(), name, options.signal);
  const n = Number(live?.metadata?.annotations?.[STABLE_REPLICAS]);
  if (!live || !Number.isInteger(n)) return;
  if (manifest?.spec?.replicas === undefined && live.spec?.replicas !== n)
    await scaleDeployment(kube, name, n, options);
  await annotate(kube, name, STABLE_REPLICAS, null, options);
}

/** Sets deploy.image's tag on a live Deployment's containers; false when they run it already. */
export function setImageIn(d: KubeObject, image: string, ref: string): boolean {
  let changed = false;
  for (const list of ["initContainers", "containers"]) {
    for (const c of (d.spec?.template?.spec?.[list] ?? []) as KubeObject[]) {
      if (parseImage(String(c.image)).name === image && c.image !== ref) {
        c.image = ref;
        changed = true;
      }
    }
  }
  return changed;
}

export interface Live {
  deployments: Map<string, KubeObject | undefined>;
  /** The version every named Deployment runs and has rolled out, when they agree. */
  serving?: string;
  /** Each one's tag of deploy.image (undefined: no such container, or no Deployment). */
  tags: Map<string, string | undefined>;
  /** All exist and have rolled out. */
  rolledOut: boolean;
  canaries: Map<string, KubeObject>;
}

export const canaryName = (name: string) => `${name}-canary`;

/** The named Deployments and their canaries as the cluster has them now. */
/** `recorded`: what the provider state says serves, the answer when deploy.image is not set. */
export async function readLive(kube: Kube, signal?: AbortSignal, recorded?: string): Promise<Live> {
  const client = kube.client();
  const ns = kube.namespace();
  const deployments = new Map<string, KubeObject | undefined>();
  const canaries = new Map<string, KubeObject>();
  const tags = new Map<string, string | undefined>();
  for (const name of kube.spec.deployments) {
    const d = await getDeployment(client, ns, name, signal);
    deployments.set(name, d);
    tags.set(name, kube.spec.image && d ? templateTag(d.spec?.template, kube.spec.image) : undefined);
    const canary = await getDeployment(client, ns, canaryName(name), signal);
    if (canary) canaries.set(name, canary);
  }
  const rolledOut = [...deployments.values()].every((d) => d && rolloutState(d).done);
  const distinct = new Set([...tags.values()].filter((t) => t !== undefined));
  const serving = !rolledOut
    ? undefined
    : kube.spec.image
      ? distinct.size === 1
        ? kube.versionOfTag([...distinct][0])
        : undefined
      : recorded;
  return { deployments, tags, rolledOut, canaries, ...(serving ? { serving } : {}) };
}

/** The record of a version from Deployments that rolled out with it. */
export function detailsOf(deployments: Iterable<[string, KubeObject]>, digest?: string): VersionDetails {
  const details: VersionDetails = { images: {}, revisions: {}, replicas: {} };
  for (const [name, d] of deployments) {
    details.images[name] = templateImages(d.spec?.template);
    details.revisions[name] = revisionOf(d);
    details.replicas[name] = d.spec?.replicas ?? 1;
  }
  if (digest) details.digest = digest;
  return details;
}

export interface Finished {
  ok: boolean;
  /** One line: what is wrong, or the digest verified. */
  note: string;
  aborted?: boolean;
  deployments: Map<string, KubeObject>;
  digest?: string;
}

/** Waits for the rollouts of `names`, then verifies what their pods run for deploy.image. */
export async function finishRollout(
  kube: Kube,
  names: string[],
  version: string,
  expected: Array<{ digest: string; from: string }>,
  timing: { deadline: number; timeoutMs: number; signal?: AbortSignal },
  lines: string[],
  /** The Deployments whose pods must run the version (default: all of `names`). */
  verify: string[] = names,
): Promise<Finished> {
  const client = kube.client();
  const ns = kube.namespace();
  const wait = await waitRollouts(
    client,
    ns,
    names,
    timing.deadline,
    timing.timeoutMs,
    (line) => kube.say(line, lines),
    timing.signal,
  );
  if (wait.problem)
    return {
      ok: false,
      note: wait.problem,
      deployments: wait.deployments,
      ...(wait.aborted ? { aborted: true } : {}),
    };
  const image = kube.spec.image;
  if (!image) return { ok: true, note: "", deployments: wait.deployments };
  const tag = kube.tag(version);
  const checked = verify.map((n) => wait.deployments.get(n)).filter((d): d is KubeObject => d !== undefined);
  const check = await verifyDigest(client, ns, checked, image, tag, expected, timing.signal);
  if (check.problem) return { ok: false, note: check.problem, deployments: wait.deployments };
  if (!check.digest) {
    const note = `no pod runs ${image}:${tag} (0 replicas): no digest to check`;
    kube.say(note, lines);
    return { ok: true, note, deployments: wait.deployments };
  }
  const source = expected.length > 0 ? `, as ${expected.map((e) => e.from).join(" and ")} says` : "";
  const note = `${image}:${tag} runs as ${check.digest} on ${check.pods} pod${check.pods === 1 ? "" : "s"}${source}`;
  kube.say(note, lines);
  return { ok: true, note, deployments: wait.deployments, ...(check.digest ? { digest: check.digest } : {}) };
}

/** The digests `version`'s pods must run: deploy.digest, a kustomization's pin, an earlier record. */
export function expectedDigests(
  kube: Kube,
  version: string,
  details: VersionDetails | undefined,
  release?: Release,
  fromSpec = true,
): Array<{ digest: string; from: string }> {
  const out: Array<{ digest: string; from: string }> = [];
  if (fromSpec && kube.spec.digest) {
    const digest = kube.options.text(kube.spec.digest, { version }).trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(digest))
      throw new Error(
        `deploy.digest is ${JSON.stringify(digest)} for ${version}, not sha256:<64 hex digits>`,
      );
    out.push({ digest, from: "deploy.digest" });
  }
  if (release?.pinned) out.push({ digest: release.pinned, from: "the kustomization's images" });
  if (details?.digest)
    out.push({ digest: details.digest, from: `Gantry's record of ${version} when it last rolled out` });
  return out;
}
