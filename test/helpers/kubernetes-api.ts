/**
 * A local stand-in for the part of the Kubernetes API that Gantry's kubernetes provider uses,
 * on 127.0.0.1 and a free port (plain HTTP, or HTTPS with a certificate the test gives),
 * written from the Kubernetes API reference (kubernetes.io/docs/reference/kubernetes-api and
 * "API Concepts"):
 * - discovery: GET /version, /api, /apis, /api/v1 and /apis/apps/v1 (APIResourceList);
 * - core/v1 namespaces, pods, services, configmaps, secrets, serviceaccounts and apps/v1
 *   deployments (with the scale subresource) and replicasets: get, list (labelSelector), create
 *   (POST), replace (PUT, optimistic concurrency on metadata.resourceVersion), patch (server-side
 *   apply application/apply-patch+yaml with fieldManager, JSON merge patch, a strategic merge
 *   patch that merges lists of named items by name), delete (cascading to what the object
 *   owns); dryRun=All validates and answers without storing;
 * - errors as the API writes them, Status objects: 401 Unauthorized for an unknown bearer token,
 *   403 Forbidden for a read-only token's writes, 404 NotFound, 409 AlreadyExists and Conflict,
 *   422 Invalid (a Deployment's selector and template labels, names, immutable selector), 415,
 *   and 429 TooManyRequests with Retry-After when the test asks for it (throttle).
 *
 * A small controller (every tickMs) plays the Deployment and ReplicaSet controllers and the
 * kubelet: a ReplicaSet per pod template (named by a hash of it, with the
 * deployment.kubernetes.io/revision annotation, an old one scaled up again and given the next
 * revision when its template comes back, as for `kubectl rollout undo`), pods that become
 * ready `readyAfterMs` after they were created, old ReplicaSets scaled to 0 once the new one is
 * available, and the Deployment's status: observedGeneration, replicas, updated, ready and
 * available replicas, and the Available and Progressing conditions; a rollout without progress
 * for progressDeadlineSeconds (one second lasting `secondMs`) gets Progressing False,
 * ProgressDeadlineExceeded. Pods report status.containerStatuses[].imageID
 * `<image>@sha256:…`: the digest of the reference when it has one, else one the test set for
 * image:tag (setDigest), else a hash of the reference. `behave` makes an image's pods (or only
 * one Deployment's) never ready, crash-loop or fail to pull; `readyWhen` is a readiness probe
 * the caller answers (a seed's stand-in asks the process it runs for the pod); `port` fixes the
 * port.
 *
 * Simplified: server-side apply merges the applied object into the live one (lists replaced
 * whole) and removes no field, without conflicts between field managers; every new ReplicaSet
 * gets all its replicas at once (a 100% surge); no watch, no events, no admission.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import YAML from "yaml";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are open-ended JSON.
type Obj = Record<string, any>;

export type Behaviour = "ready" | "never-ready" | "crash" | "pull-error";

export interface KubernetesApiOptions {
  /** Pods become ready this long after they are created. Default 150 ms. */
  readyAfterMs?: number;
  /** How often the controller runs. Default 25 ms. */
  tickMs?: number;
  /** How long one second of progressDeadlineSeconds and minReadySeconds lasts. Default 1000 ms. */
  secondMs?: number;
  /** Serve HTTPS with this certificate (and name `ca` in the kubeconfig it writes). */
  tls?: { cert: string; key: string; ca?: string };
  /** Listen on this port (a seed's stand-in has fixed ports). Default: a free one. */
  port?: number;
  /**
   * A readiness probe: a pod of behaviour "ready" whose readyAfterMs has passed becomes ready
   * only once this answers true for it (a seed's stand-in asks the process it runs for the pod).
   */
  readyWhen?: (pod: Obj) => boolean;
}

export interface KubeconfigOptions {
  /** Default: the admin token. */
  token?: string;
  /** Context, cluster and user names. Default stand-in. */
  context?: string;
  namespace?: string;
  /** Put the CA in certificate-authority-data (HTTPS). Default: when the stand-in has one. */
  ca?: boolean;
  /** A user entry of your own instead of the token (exec, client certificates…). */
  user?: Obj;
}

export interface KubernetesApi {
  url: string;
  /** May do anything. */
  adminToken: string;
  /** May read only (get, list): its writes answer 403. */
  viewerToken: string;
  /** Every request: method, path, query and content type. */
  requests: Array<{ method: string; path: string; query: string; contentType?: string }>;
  kubeconfig(options?: KubeconfigOptions): Obj;
  /** Writes a kubeconfig pointing here; returns the file's path. */
  writeKubeconfig(file: string, options?: KubeconfigOptions): string;
  createNamespace(name: string): void;
  /**
   * How the pods of an image (repository, or repository:tag) behave; with `deployment`, only
   * the pods of that Deployment (three Deployments of one image, one of them faulty).
   */
  behave(image: string, behaviour: Behaviour, deployment?: string): void;
  /** The digest `image:tag` resolves to. */
  setDigest(ref: string, digest: string): void;
  /** Pods created from now on, in the namespace of the next rollout, are ready `ms` later. */
  delay(ms: number): void;
  /** The next `count` requests answer 429 with Retry-After: `seconds`. */
  throttle(count: number, seconds: number): void;
  /** The next `count` PUTs answer 409 Conflict. */
  conflictNext(count: number): void;
  object(namespace: string, plural: string, name: string): Obj | undefined;
  objects(namespace: string, plural: string): Obj[];
  /** The tag of `image` all of `deployments` run, when each has rolled out. */
  serving(namespace: string, deployments: string[], image: string): string | undefined;
  /** Of the ready pods in the namespace running `image`, the share running `image:tag`. */
  share(namespace: string, image: string, tag: string): number;
  /** The Deployment's revision: how many pod templates it rolled out (an undo counts too). */
  revision(namespace: string, deployment: string): number;
  stop(): Promise<void>;
}

interface Kind {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const KINDS: Kind[] = [
  { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false },
  { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true },
  { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true },
  { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true },
  { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true },
  { group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", namespaced: true },
  { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
  { group: "apps", version: "v1", plural: "replicasets", kind: "ReplicaSet", namespaced: true },
];

const REVISION = "deployment.kubernetes.io/revision";
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
}

const resourceName = (k: Kind) => (k.group ? `${k.plural}.${k.group}` : k.plural);
const notFound = (k: Kind, name: string) =>
  new ApiError(404, "NotFound", `${resourceName(k)} "${name}" not found`, {
    name,
    group: k.group,
    kind: k.plural,
  });

const canonical = (v: unknown): string => JSON.stringify(sortKeys(v));
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v as Obj)
        .sort()
        .map((k) => [k, sortKeys((v as Obj)[k])]),
    );
  return v;
}

/** RFC 7386 JSON merge patch; with `strategic`, lists of objects with a name merge by name. */
function merge(target: unknown, patch: unknown, strategic: boolean): unknown {
  if (Array.isArray(patch)) {
    if (strategic && Array.isArray(target) && patch.every((p) => p && typeof p === "object" && "name" in p)) {
      const out = [...(target as Obj[])];
      for (const p of patch as Obj[]) {
        const i = out.findIndex((t) => t?.name === p.name);
        if (i >= 0) out[i] = merge(out[i], p, strategic) as Obj;
        else out.push(p);
      }
      return out;
    }
    return structuredClone(patch);
  }
  if (!patch || typeof patch !== "object") return patch;
  const out: Obj =
    target && typeof target === "object" && !Array.isArray(target) ? { ...(target as Obj) } : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v, strategic);
  }
  return out;
}

/** Parses a label selector in its string form: k=v, k==v, k!=v, k in (a,b), k notin (a), k, !k. */
function selectorMatcher(text: string): (labels: Obj) => boolean {
  const tests: Array<(l: Obj) => boolean> = [];
  const parts = text.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  for (const raw of parts.map((p) => p.trim()).filter(Boolean)) {
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(raw);
    const equality = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(raw);
    if (set) {
      const [, key, op, list] = set;
      const values = list!.split(",").map((s) => s.trim());
      tests.push((l) => (op === "in" ? values.includes(l[key!]) : !values.includes(l[key!])));
    } else if (equality) {
      const [, key, op, value] = equality;
      tests.push((l) => (op === "!=" ? l[key!] !== value : l[key!] === value));
    } else if (raw.startsWith("!")) tests.push((l) => !(raw.slice(1) in l));
    else tests.push((l) => raw in l);
  }
  return (labels) => tests.every((t) => t(labels ?? {}));
}

function matchesSelector(selector: Obj | undefined, labels: Obj): boolean {
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) if (labels?.[k] !== v) return false;
  for (const e of (selector?.matchExpressions ?? []) as Obj[]) {
    const has = labels && e.key in labels;
    if (e.operator === "In" && !(e.values ?? []).includes(labels?.[e.key])) return false;
    if (e.operator === "NotIn" && (e.values ?? []).includes(labels?.[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

const imageName = (ref: string) => {
  const at = ref.indexOf("@");
  const rest = at >= 0 ? ref.slice(0, at) : ref;
  const colon = rest.lastIndexOf(":");
  return colon > rest.lastIndexOf("/")
    ? { name: rest.slice(0, colon), tag: rest.slice(colon + 1) }
    : { name: rest, tag: "latest" };
};

interface PodLife {
  created: number;
  readyAt: number;
  behaviour: Behaviour;
  readySince?: number;
}

export async function startKubernetesApi(
  options: KubernetesApiOptions = {},
  cleanup?: (stop: () => unknown) => void,
): Promise<KubernetesApi> {
  const readyAfter = options.readyAfterMs ?? 150;
  const second = options.secondMs ?? 1000;
  const adminToken = `admin-${randomBytes(12).toString("hex")}`;
  const viewerToken = `viewer-${randomBytes(12).toString("hex")}`;
  const store = new Map<string, Map<string, Obj>>(KINDS.map((k) => [k.plural, new Map()]));
  const lives = new Map<string, PodLife>();
  const behaviours = new Map<string, Behaviour>();
  const digests = new Map<string, string>();
  /** Per Deployment uid: when the rollout last progressed, and the counts then. */
  const progress = new Map<string, { at: number; counts: string }>();
  const delays = new Map<string, number>();
  let pendingDelay = 0;
  let throttled = { count: 0, seconds: 1 };
  let conflicts = 0;
  let version = 1;
  const requests: KubernetesApi["requests"] = [];
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const table = (plural: string) => store.get(plural)!;
  const nextVersion = () => String(++version);
  const now = () => new Date().toISOString();

  function digestOf(ref: string): string {
    const at = ref.indexOf("@");
    if (at >= 0) return ref.slice(at + 1);
    const { name, tag } = imageName(ref);
    return (
      digests.get(`${name}:${tag}`) ?? `sha256:${createHash("sha256").update(`${name}:${tag}`).digest("hex")}`
    );
  }
  /** A Deployment's own behaviour for an image first, then the image's for every pod. */
  function behaviourOf(images: string[], deployment: string | undefined): Behaviour {
    for (const ref of images) {
      const { name, tag } = imageName(ref);
      const b =
        (deployment &&
          (behaviours.get(`${deployment}/${name}:${tag}`) ?? behaviours.get(`${deployment}/${name}`))) ||
        behaviours.get(`${name}:${tag}`) ||
        behaviours.get(name);
      if (b) return b;
    }
    return "ready";
  }
  /** Per kind, the objects that name each owner uid in their ownerReferences (kept by put and drop). */
  const children = new Map<string, Map<string, Set<Obj>>>(KINDS.map((k) => [k.plural, new Map()]));
  const index = (plural: string, o: Obj, add: boolean) => {
    for (const r of (o.metadata.ownerReferences ?? []) as Obj[]) {
      const byOwner = children.get(plural)!;
      let set = byOwner.get(r.uid);
      if (!set && add) {
        set = new Set();
        byOwner.set(r.uid, set);
      }
      if (add) set!.add(o);
      else {
        set?.delete(o);
        if (set?.size === 0) byOwner.delete(r.uid);
      }
    }
  };
  const put = (plural: string, ns: string, o: Obj) => {
    const before = table(plural).get(key(ns, o.metadata.name));
    if (before) index(plural, before, false);
    table(plural).set(key(ns, o.metadata.name), o);
    index(plural, o, true);
  };
  const drop = (plural: string, id: string) => {
    const o = table(plural).get(id);
    if (!o) return;
    table(plural).delete(id);
    index(plural, o, false);
    if (plural === "pods") lives.delete(o.metadata.uid);
  };
  const owned = (plural: string, ns: string, uid: string): Obj[] =>
    [...(children.get(plural)!.get(uid) ?? [])].filter((o) => o.metadata.namespace === ns);

  function remove(k: Kind, ns: string, name: string) {
    const o = table(k.plural).get(key(ns, name));
    if (!o) return;
    drop(k.plural, key(ns, name));
    if (k.plural === "namespaces") {
      for (const other of KINDS)
        if (other.namespaced)
          for (const [id, x] of [...table(other.plural)])
            if (x.metadata.namespace === name) drop(other.plural, id);
      return;
    }
    for (const child of KINDS)
      for (const c of owned(child.plural, ns, o.metadata.uid)) remove(child, ns, c.metadata.name);
  }

  // --- validation and defaults ---------------------------------------------------------------
  function invalid(o: Obj, causes: Array<{ field: string; message: string }>): ApiError {
    const k = KINDS.find((x) => x.kind === o.kind);
    const group = k?.group ? `.${k.group}` : "";
    const text = causes.map((c) => `${c.field}: ${c.message}`).join(", ");
    return new ApiError(422, "Invalid", `${o.kind}${group} "${o.metadata?.name ?? ""}" is invalid: ${text}`, {
      name: o.metadata?.name,
      group: k?.group ?? "",
      kind: o.kind,
      causes: causes.map((c) => ({ reason: "FieldValueInvalid", message: c.message, field: c.field })),
    });
  }
  function validate(k: Kind, o: Obj, live?: Obj) {
    const name = o.metadata?.name;
    if (typeof name !== "string" || !NAME.test(name) || name.length > 253)
      throw invalid(o, [
        {
          field: "metadata.name",
          message: `Invalid value: ${JSON.stringify(name ?? "")}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
        },
      ]);
    if (k.kind !== "Deployment") return;
    const causes: Array<{ field: string; message: string }> = [];
    const spec = o.spec ?? {};
    if (
      !spec.selector ||
      Object.keys(spec.selector.matchLabels ?? {}).length + (spec.selector.matchExpressions ?? []).length ===
        0
    )
      causes.push({ field: "spec.selector", message: "Required value" });
    else if (!matchesSelector(spec.selector, spec.template?.metadata?.labels ?? {}))
      causes.push({
        field: "spec.template.metadata.labels",
        message: `Invalid value: ${JSON.stringify(spec.template?.metadata?.labels ?? {})}: \`selector\` does not match template \`labels\``,
      });
    const containers = (spec.template?.spec?.containers ?? []) as Obj[];
    if (containers.length === 0)
      causes.push({ field: "spec.template.spec.containers", message: "Required value" });
    containers.forEach((c, i) => {
      if (!c.name)
        causes.push({ field: `spec.template.spec.containers[${i}].name`, message: "Required value" });
      if (!c.image)
        causes.push({ field: `spec.template.spec.containers[${i}].image`, message: "Required value" });
    });
    if (spec.replicas !== undefined && (!Number.isInteger(spec.replicas) || spec.replicas < 0))
      causes.push({
        field: "spec.replicas",
        message: `Invalid value: ${spec.replicas}: must be greater than or equal to 0`,
      });
    if (live && canonical(live.spec?.selector) !== canonical(spec.selector))
      causes.push({
        field: "spec.selector",
        message: `Invalid value: ${JSON.stringify(spec.selector)}: field is immutable`,
      });
    if (causes.length > 0) throw invalid(o, causes);
  }
  function defaults(k: Kind, o: Obj) {
    if (k.kind === "Deployment") {
      o.spec.replicas ??= 1;
      o.spec.progressDeadlineSeconds ??= 600;
      o.spec.revisionHistoryLimit ??= 10;
      o.spec.minReadySeconds ??= 0;
      o.spec.strategy ??= {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
      };
      o.status ??= {};
    }
    if (k.kind === "Namespace") o.status = { phase: "Active" };
  }

  /** Stores `o` as the new state of the object (validated), or answers what it would be (dry run). */
  function write(k: Kind, ns: string, o: Obj, live: Obj | undefined, dryRun: boolean): Obj {
    o.apiVersion = k.group ? `${k.group}/${k.version}` : k.version;
    o.kind = k.kind;
    o.metadata ??= {};
    if (k.namespaced) o.metadata.namespace = ns;
    else delete o.metadata.namespace;
    if (k.namespaced && !table("namespaces").has(key("", ns)))
      throw new ApiError(404, "NotFound", `namespaces "${ns}" not found`, { name: ns, kind: "namespaces" });
    validate(k, o, live);
    defaults(k, o);
    if (live) {
      o.metadata.uid = live.metadata.uid;
      o.metadata.creationTimestamp = live.metadata.creationTimestamp;
      if (live.status !== undefined) o.status = live.status;
      const specChanged = canonical(live.spec) !== canonical(o.spec);
      if (live.metadata.generation !== undefined)
        o.metadata.generation = live.metadata.generation + (specChanged ? 1 : 0);
      if (
        canonical({ ...live, metadata: { ...live.metadata, resourceVersion: 0 } }) ===
        canonical({ ...o, metadata: { ...o.metadata, resourceVersion: 0 } })
      )
        return live;
    } else {
      o.metadata.uid = randomUUID();
      o.metadata.creationTimestamp = now();
      if (k.kind === "Deployment") o.metadata.generation = 1;
    }
    if (dryRun) return o;
    o.metadata.resourceVersion = nextVersion();
    put(k.plural, ns, o);
    return o;
  }

  // --- the controller ------------------------------------------------------------------------
  const templateHash = (t: Obj) =>
    createHash("sha256")
      .update(canonical(t))
      .digest("hex")
      .replace(/[^a-f0-9]/g, "")
      .slice(0, 10);
  const POD_KIND = KINDS.find((k) => k.plural === "pods")!;

  function reconcileDeployment(d: Obj, t: number) {
    const ns = d.metadata.namespace;
    const sets = owned("replicasets", ns, d.metadata.uid);
    const hash = templateHash(d.spec.template);
    const maxRev = Math.max(0, ...sets.map((s) => Number(s.metadata.annotations?.[REVISION] ?? 0)));
    let rs = sets.find((s) => s.metadata.labels?.["pod-template-hash"] === hash);
    let started = false;
    if (!rs) {
      const labels = { ...(d.spec.template.metadata?.labels ?? {}), "pod-template-hash": hash };
      rs = {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: ns,
          uid: randomUUID(),
          resourceVersion: nextVersion(),
          creationTimestamp: now(),
          labels,
          annotations: { [REVISION]: String(maxRev + 1) },
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "Deployment",
              name: d.metadata.name,
              uid: d.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          replicas: 0,
          selector: {
            ...d.spec.selector,
            matchLabels: { ...(d.spec.selector.matchLabels ?? {}), "pod-template-hash": hash },
          },
          template: {
            ...structuredClone(d.spec.template),
            metadata: { ...(d.spec.template.metadata ?? {}), labels },
          },
        },
        status: { replicas: 0 },
      };
      put("replicasets", ns, rs);
      started = true;
    } else if (Number(rs.metadata.annotations?.[REVISION] ?? 0) !== maxRev) {
      rs.metadata.annotations = { ...rs.metadata.annotations, [REVISION]: String(maxRev + 1) };
      started = true;
    }
    if (started) {
      d.metadata.annotations = {
        ...(d.metadata.annotations ?? {}),
        [REVISION]: rs.metadata.annotations[REVISION],
      };
      d.metadata.resourceVersion = nextVersion();
      progress.set(d.metadata.uid, { at: t, counts: "" });
      if (pendingDelay > 0) {
        delays.set(ns, t + pendingDelay);
        pendingDelay = 0;
      }
    }
    const desired = d.spec.replicas;
    rs.spec.replicas = desired;
    const newReady = podsOf(rs).filter((p) => available(p, d, t)).length;
    for (const old of sets) if (old !== rs && newReady >= desired) old.spec.replicas = 0;
    return rs;
  }

  const podsOf = (rs: Obj) => owned("pods", rs.metadata.namespace, rs.metadata.uid);
  const ready = (p: Obj) =>
    ((p.status?.conditions ?? []) as Obj[]).some((c) => c.type === "Ready" && c.status === "True");
  const available = (p: Obj, d: Obj, t: number) => {
    const since = lives.get(p.metadata.uid)?.readySince;
    return ready(p) && since !== undefined && t - since >= (d.spec.minReadySeconds ?? 0) * second;
  };

  function reconcileReplicaSet(rs: Obj, t: number) {
    const pods = podsOf(rs);
    for (let i = pods.length; i < rs.spec.replicas; i++) {
      const containers = (rs.spec.template.spec?.containers ?? []) as Obj[];
      const pod: Obj = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `${rs.metadata.name}-${randomBytes(3).toString("hex").slice(0, 5)}`,
          namespace: rs.metadata.namespace,
          uid: randomUUID(),
          resourceVersion: nextVersion(),
          creationTimestamp: now(),
          labels: { ...rs.spec.template.metadata.labels },
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: rs.metadata.name,
              uid: rs.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { ...structuredClone(rs.spec.template.spec), nodeName: "stand-in-node" },
        status: {
          phase: "Pending",
          conditions: [
            { type: "PodScheduled", status: "True" },
            { type: "Ready", status: "False" },
          ],
          containerStatuses: containers.map((c) => ({
            name: c.name,
            image: c.image,
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: "ContainerCreating" } },
          })),
        },
      };
      const delayed = delays.get(rs.metadata.namespace) ?? 0;
      lives.set(pod.metadata.uid, {
        created: t,
        readyAt: Math.max(t + readyAfter, delayed > t ? delayed + readyAfter : 0),
        behaviour: behaviourOf(
          containers.map((c) => String(c.image)),
          ((rs.metadata.ownerReferences ?? []) as Obj[]).find((r) => r.kind === "Deployment")?.name,
        ),
      });
      put("pods", pod.metadata.namespace, pod);
    }
    const extra = pods.length - rs.spec.replicas;
    if (extra > 0) {
      const order = [...pods].sort((a, b) => Number(ready(a)) - Number(ready(b)));
      for (const p of order.slice(0, extra)) remove(POD_KIND, p.metadata.namespace, p.metadata.name);
    }
    const left = podsOf(rs);
    rs.status = {
      replicas: left.length,
      fullyLabeledReplicas: left.length,
      readyReplicas: left.filter(ready).length,
      availableReplicas: left.filter(ready).length,
      observedGeneration: 1,
    };
  }

  function progressPod(p: Obj, t: number) {
    const life = lives.get(p.metadata.uid);
    if (!life || t < life.readyAt) return;
    const statuses = p.status.containerStatuses as Obj[];
    const setReady = (value: boolean) => {
      p.status.conditions = [
        { type: "PodScheduled", status: "True" },
        { type: "Ready", status: value ? "True" : "False" },
      ];
    };
    const before = canonical(p.status);
    if (life.behaviour === "ready" && options.readyWhen && !life.readySince && !options.readyWhen(p)) return;
    if (life.behaviour === "ready") {
      p.status.phase = "Running";
      for (const s of statuses) {
        s.ready = true;
        s.imageID = `${imageName(s.image).name}@${digestOf(s.image)}`;
        s.state = { running: { startedAt: new Date(life.readyAt).toISOString() } };
      }
      setReady(true);
      life.readySince ??= t;
    } else if (life.behaviour === "crash") {
      p.status.phase = "Running";
      const restarts = Math.floor((t - life.readyAt) / Math.max(readyAfter, 50)) + 1;
      for (const s of statuses) {
        s.imageID = `${imageName(s.image).name}@${digestOf(s.image)}`;
        s.restartCount = restarts;
        s.lastState = { terminated: { exitCode: 1, reason: "Error" } };
        s.state = {
          waiting: {
            reason: "CrashLoopBackOff",
            message: `back-off 10s restarting failed container=${s.name} pod=${p.metadata.name}`,
          },
        };
      }
      setReady(false);
    } else if (life.behaviour === "pull-error") {
      for (const s of statuses)
        s.state = { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${s.image}"` } };
    }
    if (canonical(p.status) !== before) p.metadata.resourceVersion = nextVersion();
  }

  function deploymentStatus(d: Obj, rs: Obj, t: number) {
    const sets = owned("replicasets", d.metadata.namespace, d.metadata.uid);
    const all = sets.flatMap(podsOf);
    const updated = podsOf(rs);
    const desired = d.spec.replicas;
    const availableCount = all.filter((p) => available(p, d, t)).length;
    const readyCount = all.filter(ready).length;
    const previous = d.status ?? {};
    const status: Obj = {
      observedGeneration: d.metadata.generation,
      replicas: all.length,
      updatedReplicas: updated.length,
      readyReplicas: readyCount,
      availableReplicas: availableCount,
      unavailableReplicas: Math.max(0, desired - availableCount),
    };
    const stamp = new Date(t).toISOString();
    const old = (type: string) => ((previous.conditions ?? []) as Obj[]).find((c) => c.type === type);
    const condition = (type: string, value: string, reason: string, message: string, updateNow: boolean) => {
      const was = old(type);
      return {
        type,
        status: value,
        reason,
        message,
        lastUpdateTime: updateNow || !was ? stamp : was.lastUpdateTime,
        lastTransitionTime: was && was.status === value ? was.lastTransitionTime : stamp,
      };
    };
    const maxUnavailable = Math.floor(desired * 0.25);
    const availableCondition =
      availableCount >= desired - maxUnavailable
        ? condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            false,
          )
        : condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            false,
          );
    const rsName = rs.metadata.name;
    const complete = updated.length === desired && all.length === desired && availableCount === desired;
    const counts = `${all.length}/${updated.length}/${readyCount}/${availableCount}/${desired}`;
    const track = progress.get(d.metadata.uid) ?? { at: t, counts: "" };
    let progressing: Obj;
    if (complete) {
      const was = old("Progressing");
      progressing =
        was?.reason === "NewReplicaSetAvailable"
          ? was
          : condition(
              "Progressing",
              "True",
              "NewReplicaSetAvailable",
              `ReplicaSet "${rsName}" has successfully progressed.`,
              true,
            );
      progress.set(d.metadata.uid, { at: t, counts });
    } else if (track.counts !== counts) {
      progressing = condition(
        "Progressing",
        "True",
        "ReplicaSetUpdated",
        `ReplicaSet "${rsName}" is progressing.`,
        true,
      );
      progress.set(d.metadata.uid, { at: t, counts });
    } else if (t - track.at > d.spec.progressDeadlineSeconds * second) {
      progressing = condition(
        "Progressing",
        "False",
        "ProgressDeadlineExceeded",
        `ReplicaSet "${rsName}" has timed out progressing.`,
        false,
      );
    } else {
      progressing =
        old("Progressing") ??
        condition("Progressing", "True", "ReplicaSetUpdated", `ReplicaSet "${rsName}" is progressing.`, true);
    }
    status.conditions = [availableCondition, progressing];
    if (canonical(status) !== canonical(previous)) {
      d.status = status;
      d.metadata.resourceVersion = nextVersion();
    }
  }

  function tick() {
    const t = Date.now();
    const deployments = [...table("deployments").values()];
    const current = new Map<Obj, Obj>();
    for (const d of deployments) current.set(d, reconcileDeployment(d, t));
    for (const rs of [...table("replicasets").values()]) reconcileReplicaSet(rs, t);
    for (const p of table("pods").values()) progressPod(p, t);
    for (const [d, rs] of current) deploymentStatus(d, rs, t);
  }
  const timer = setInterval(() => {
    try {
      tick();
    } catch (e) {
      process.stderr.write(`kubernetes stand-in controller: ${(e as Error).stack}\n`);
    }
  }, options.tickMs ?? 25);
  timer.unref();

  // --- HTTP ----------------------------------------------------------------------------------
  function route(
    pathname: string,
  ): { kind: Kind; ns: string; name?: string; sub?: string } | "discovery" | undefined {
    const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
    let group = "";
    let rest: string[];
    if (parts[0] === "api" && parts[1] === "v1") rest = parts.slice(2);
    else if (parts[0] === "apis" && parts.length >= 3) {
      group = parts[1]!;
      rest = parts.slice(3);
      if (parts[2] !== "v1") return undefined;
    } else return undefined;
    if (rest.length === 0) return "discovery";
    let ns = "";
    if (rest[0] === "namespaces" && rest.length >= 3) {
      ns = rest[1]!;
      rest = rest.slice(2);
    }
    const kind = KINDS.find((k) => k.group === group && k.plural === rest[0]);
    if (!kind) return undefined;
    return { kind, ns, ...(rest[1] ? { name: rest[1] } : {}), ...(rest[2] ? { sub: rest[2] } : {}) };
  }

  function discovery(pathname: string): Obj | undefined {
    if (pathname === "/version")
      return { major: "1", minor: "31", gitVersion: "v1.31.0-gantry-stand-in", platform: "linux/amd64" };
    if (pathname === "/api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
    if (pathname === "/apis")
      return {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: [
          {
            name: "apps",
            versions: [{ groupVersion: "apps/v1", version: "v1" }],
            preferredVersion: { groupVersion: "apps/v1", version: "v1" },
          },
        ],
      };
    const group = pathname === "/api/v1" ? "" : pathname === "/apis/apps/v1" ? "apps" : undefined;
    if (group === undefined) return undefined;
    const resources = KINDS.filter((k) => k.group === group).flatMap((k) => [
      {
        name: k.plural,
        singularName: k.kind.toLowerCase(),
        namespaced: k.namespaced,
        kind: k.kind,
        verbs: ["create", "delete", "get", "list", "patch", "update"],
      },
      ...(k.plural === "deployments"
        ? [
            {
              name: "deployments/scale",
              singularName: "",
              namespaced: true,
              group: "autoscaling",
              version: "v1",
              kind: "Scale",
              verbs: ["get", "patch", "update"],
            },
            {
              name: "deployments/status",
              singularName: "",
              namespaced: true,
              kind: "Deployment",
              verbs: ["get", "patch", "update"],
            },
          ]
        : []),
    ]);
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: group ? `${group}/v1` : "v1",
      resources,
    };
  }

  function scaleOf(d: Obj): Obj {
    return {
      apiVersion: "autoscaling/v1",
      kind: "Scale",
      metadata: {
        name: d.metadata.name,
        namespace: d.metadata.namespace,
        uid: d.metadata.uid,
        resourceVersion: d.metadata.resourceVersion,
      },
      spec: { replicas: d.spec.replicas },
      status: {
        replicas: d.status?.replicas ?? 0,
        selector: Object.entries(d.spec.selector.matchLabels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
      },
    };
  }

  function handle(
    method: string,
    url: URL,
    body: unknown,
    contentType: string,
    token: string | undefined,
  ): { status: number; body: Obj } {
    if (!token || (token !== adminToken && token !== viewerToken))
      throw new ApiError(401, "Unauthorized", "Unauthorized");
    if (throttled.count > 0) {
      throttled.count--;
      throw new ApiError(429, "TooManyRequests", "Too many requests, please try again later.", {
        retryAfterSeconds: throttled.seconds,
      });
    }
    const found = discovery(url.pathname);
    if (found && method === "GET") return { status: 200, body: found };
    const r = route(url.pathname);
    if (!r || r === "discovery")
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const { kind, ns } = r;
    const name = r.name ?? (body as Obj | undefined)?.metadata?.name;
    if (token === viewerToken && method !== "GET") {
      const verb =
        { POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" }[method] ?? method.toLowerCase();
      throw new ApiError(
        403,
        "Forbidden",
        `${resourceName(kind)}${name ? ` "${name}"` : ""} is forbidden: User "system:serviceaccount:gantry:viewer" cannot ${verb} resource "${kind.plural}${r.sub ? `/${r.sub}` : ""}" in API group "${kind.group}"${kind.namespaced ? ` in the namespace "${ns}"` : ""}`,
        { name, group: kind.group, kind: kind.plural },
      );
    }
    const dryRun = url.searchParams.get("dryRun") === "All";
    const listKind = { apiVersion: kind.group ? `${kind.group}/v1` : "v1", kind: `${kind.kind}List` };
    if (!r.name) {
      if (method === "GET") {
        const match = selectorMatcher(url.searchParams.get("labelSelector") ?? "");
        const items = [...table(kind.plural).values()].filter(
          (o) => (!ns || o.metadata.namespace === ns) && match(o.metadata.labels ?? {}),
        );
        return { status: 200, body: { ...listKind, metadata: { resourceVersion: String(version) }, items } };
      }
      if (method === "POST") {
        const o = structuredClone(body) as Obj;
        if (!o?.metadata?.name)
          throw invalid({ kind: kind.kind, metadata: {} }, [
            { field: "metadata.name", message: "Required value: name or generateName is required" },
          ]);
        if (table(kind.plural).has(key(ns, o.metadata.name)))
          throw new ApiError(
            409,
            "AlreadyExists",
            `${resourceName(kind)} "${o.metadata.name}" already exists`,
            { name: o.metadata.name, group: kind.group, kind: kind.plural },
          );
        return { status: 201, body: write(kind, ns, o, undefined, dryRun) };
      }
      throw new ApiError(
        405,
        "MethodNotAllowed",
        `the server does not allow this method on the requested resource`,
      );
    }
    const live = table(kind.plural).get(key(ns, r.name));
    if (r.sub === "scale" && kind.plural === "deployments") {
      if (!live) throw notFound(kind, r.name);
      if (method === "GET") return { status: 200, body: scaleOf(live) };
      const scale = method === "PUT" ? (body as Obj) : (merge(scaleOf(live), body, false) as Obj);
      const replicas = scale?.spec?.replicas;
      if (!Number.isInteger(replicas) || replicas < 0)
        throw invalid({ kind: "Scale", metadata: { name: r.name } }, [
          {
            field: "spec.replicas",
            message: `Invalid value: ${replicas}: must be greater than or equal to 0`,
          },
        ]);
      const next = structuredClone(live);
      next.spec.replicas = replicas;
      return { status: 200, body: scaleOf(write(kind, ns, next, live, dryRun)) };
    }
    if (r.sub && r.sub !== "status")
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    if (method === "GET") {
      if (!live) throw notFound(kind, r.name);
      return { status: 200, body: live };
    }
    if (method === "DELETE") {
      if (!live) throw notFound(kind, r.name);
      if (!dryRun) remove(kind, ns, r.name);
      return {
        status: 200,
        body: {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
          details: { name: r.name, group: kind.group, kind: kind.plural, uid: live.metadata.uid },
        },
      };
    }
    if (method === "PUT") {
      if (!live) throw notFound(kind, r.name);
      const o = structuredClone(body) as Obj;
      const given = o?.metadata?.resourceVersion;
      if (conflicts > 0 || (given !== undefined && given !== live.metadata.resourceVersion)) {
        if (conflicts > 0) conflicts--;
        throw new ApiError(
          409,
          "Conflict",
          `Operation cannot be fulfilled on ${resourceName(kind)} "${r.name}": the object has been modified; please apply your changes to the latest version and try again`,
          { name: r.name, group: kind.group, kind: kind.plural },
        );
      }
      return { status: 200, body: write(kind, ns, o, live, dryRun) };
    }
    if (method === "PATCH") {
      const type = contentType.split(";")[0]!.trim();
      if (type === "application/apply-patch+yaml") {
        if (!url.searchParams.get("fieldManager"))
          throw new ApiError(400, "BadRequest", "PATCH /apply requires the fieldManager parameter");
        const applied = structuredClone(body) as Obj;
        if (applied?.metadata?.name !== r.name)
          throw new ApiError(
            400,
            "BadRequest",
            `the name of the object (${applied?.metadata?.name}) does not match the name on the URL (${r.name})`,
          );
        const base = live ? { ...structuredClone(live), status: undefined } : {};
        const next = merge(base, applied, false) as Obj;
        delete next.metadata?.resourceVersion;
        return { status: live ? 200 : 201, body: write(kind, ns, next, live, dryRun) };
      }
      if (type !== "application/merge-patch+json" && type !== "application/strategic-merge-patch+json")
        throw new ApiError(
          415,
          "UnsupportedMediaType",
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
      if (!live) throw notFound(kind, r.name);
      const next = merge(structuredClone(live), body, type.startsWith("application/strategic")) as Obj;
      return { status: 200, body: write(kind, ns, next, live, dryRun) };
    }
    throw new ApiError(
      405,
      "MethodNotAllowed",
      "the server does not allow this method on the requested resource",
    );
  }

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://stand-in");
      const contentType = String(req.headers["content-type"] ?? "");
      requests.push({
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.search,
        ...(contentType ? { contentType } : {}),
      });
      if (requests.length > 2000) requests.shift();
      const auth = String(req.headers.authorization ?? "");
      const token = auth.startsWith("Bearer ") ? auth.slice(7) : undefined;
      let answer: { status: number; body: Obj };
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      try {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        if (text) {
          try {
            body = YAML.parse(text);
          } catch (e) {
            throw new ApiError(
              400,
              "BadRequest",
              `error decoding the request body: ${(e as Error).message.split("\n")[0]}`,
            );
          }
        }
        answer = handle(req.method ?? "GET", url, body, contentType, token);
      } catch (e) {
        if (!(e instanceof ApiError)) {
          answer = {
            status: 500,
            body: {
              kind: "Status",
              apiVersion: "v1",
              metadata: {},
              status: "Failure",
              message: String((e as Error).message),
              reason: "InternalError",
              code: 500,
            },
          };
        } else {
          if (e.code === 429) headers["Retry-After"] = String(e.details?.retryAfterSeconds ?? 1);
          answer = {
            status: e.code,
            body: {
              kind: "Status",
              apiVersion: "v1",
              metadata: {},
              status: "Failure",
              message: e.message,
              reason: e.reason,
              ...(e.details ? { details: e.details } : {}),
              code: e.code,
            },
          };
        }
      }
      res.writeHead(answer.status, headers);
      res.end(JSON.stringify(answer.body));
    });
  };
  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => {
      clearInterval(timer);
      reject(e);
    });
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;

  const kubeconfig = (o: KubeconfigOptions = {}): Obj => {
    const name = o.context ?? "stand-in";
    const withCa = o.ca ?? Boolean(options.tls?.ca);
    return {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name,
          cluster: {
            server: url,
            ...(withCa && options.tls?.ca
              ? { "certificate-authority-data": Buffer.from(options.tls.ca).toString("base64") }
              : {}),
          },
        },
      ],
      users: [{ name, user: o.user ?? { token: o.token ?? adminToken } }],
      contexts: [
        { name, context: { cluster: name, user: name, ...(o.namespace ? { namespace: o.namespace } : {}) } },
      ],
      "current-context": name,
    };
  };

  let stopped = false;
  const api: KubernetesApi = {
    url,
    adminToken,
    viewerToken,
    requests,
    kubeconfig,
    writeKubeconfig(file, o) {
      fs.writeFileSync(file, YAML.stringify(kubeconfig(o)), { mode: 0o600 });
      return file;
    },
    createNamespace(name) {
      if (!table("namespaces").has(key("", name)))
        write(KINDS[0]!, "", { metadata: { name } }, undefined, false);
    },
    behave(image, b, deployment) {
      behaviours.set(deployment ? `${deployment}/${image}` : image, b);
    },
    setDigest(ref, digest) {
      digests.set(ref, digest);
    },
    delay(ms) {
      pendingDelay += ms;
    },
    throttle(count, seconds) {
      throttled = { count, seconds };
    },
    conflictNext(count) {
      conflicts = count;
    },
    object: (ns, plural, name) => table(plural).get(key(ns, name)),
    objects: (ns, plural) => [...table(plural).values()].filter((o) => o.metadata.namespace === ns),
    serving(ns, names, image) {
      const tags = new Set<string>();
      for (const n of names) {
        const d = table("deployments").get(key(ns, n));
        if (!d) return undefined;
        const s = d.status ?? {};
        const desired = d.spec.replicas;
        if (
          s.observedGeneration !== d.metadata.generation ||
          s.updatedReplicas !== desired ||
          s.replicas !== desired ||
          s.availableReplicas !== desired
        )
          return undefined;
        const c = ((d.spec.template.spec?.containers ?? []) as Obj[]).find(
          (x) => imageName(String(x.image)).name === image,
        );
        if (!c) return undefined;
        tags.add(imageName(String(c.image)).tag);
      }
      return tags.size === 1 ? [...tags][0] : undefined;
    },
    share(ns, image, tag) {
      let all = 0;
      let hits = 0;
      for (const p of table("pods").values()) {
        if (p.metadata.namespace !== ns || !ready(p)) continue;
        const refs = ((p.spec.containers ?? []) as Obj[])
          .map((c) => imageName(String(c.image)))
          .filter((i) => i.name === image);
        if (refs.length === 0) continue;
        all++;
        if (refs.some((i) => i.tag === tag)) hits++;
      }
      return all === 0 ? 0 : hits / all;
    },
    revision(ns, name) {
      return Number(table("deployments").get(key(ns, name))?.metadata.annotations?.[REVISION] ?? 0);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  cleanup?.(() => api.stop());
  return api;
}
