/**
 * The manifests the kubernetes provider applies, read by Gantry itself (no kubectl, no
 * kustomize): a folder of YAML or JSON files (not recursive, in name order, `---` separated
 * documents, `kind: List` items), one file, or a kustomization folder.
 *
 * Of kustomization.yaml, Gantry applies this documented subset, and refuses the rest by name:
 * - resources (and the older bases): files, and folders that are kustomizations themselves
 *   (an overlay's ../../base); no remote (URL or git) resources;
 * - namespace: set on every namespaced object;
 * - images: name → newName, newTag, digest (a digest replaces the tag: name@sha256:…),
 *   applied to every container, init container and ephemeral container.
 * An inner kustomization's transformations apply before its parent's, as with kustomize.
 * For anything else (patches, generators, name prefixes, labels …), render the overlay to
 * plain YAML in a gate (`kustomize build overlays/production > rendered/all.yaml`) and point
 * `apply` at the result.
 *
 * Then the release: every container whose image is `deploy.image` gets `<image>:<tag>`, or
 * `<image>:<tag>@<digest>` when a kustomization pins that image's digest.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import type { KubeObject } from "./kubernetes-client.js";

export interface ManifestObject {
  object: KubeObject;
  /** The file it came from, relative to the applied folder. */
  source: string;
  /** The namespace a kustomization sets (for namespaced kinds only, decided when applying). */
  namespace?: string;
}

export interface Manifests {
  objects: ManifestObject[];
  /** Digests kustomization `images` pin, by image name (after newName). */
  pinned: Map<string, string>;
}

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const SUPPORTED_KEYS = new Set([
  "apiVersion",
  "kind",
  "metadata",
  "resources",
  "bases",
  "namespace",
  "images",
]);
const MAX_DEPTH = 20;

export function kustomizationFile(dir: string): string | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  return undefined;
}

/** Reads the manifests at `target` (a folder, a file, or a kustomization folder). */
export function readManifests(target: string): Manifests {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new Error(`deploy.apply: ${target} does not exist`);
  }
  const pinned = new Map<string, string>();
  const rel = (file: string) =>
    path.relative(stat.isDirectory() ? target : path.dirname(target), file) || path.basename(file);
  if (!stat.isDirectory()) return { objects: readFile(target, rel), pinned };
  const kustomization = kustomizationFile(target);
  if (kustomization) return { objects: readKustomization(target, rel, pinned, [], 0), pinned };
  const files = fs
    .readdirSync(target)
    .filter((f) => /\.(ya?ml|json)$/i.test(f))
    .sort()
    .map((f) => path.join(target, f))
    .filter((f) => fs.statSync(f).isFile());
  if (files.length === 0) throw new Error(`deploy.apply: ${target} holds no .yaml, .yml or .json file`);
  return { objects: files.flatMap((f) => readFile(f, rel)), pinned };
}

function readFile(file: string, rel: (f: string) => string): ManifestObject[] {
  const text = fs.readFileSync(file, "utf8");
  const out: ManifestObject[] = [];
  const docs = YAML.parseAllDocuments(text);
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0)
      throw new Error(
        `${rel(file)}: not valid YAML (document ${i + 1}): ${doc.errors[0]!.message.split("\n")[0]}`,
      );
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    if (typeof value !== "object" || Array.isArray(value))
      throw new Error(`${rel(file)}: document ${i + 1} is not a Kubernetes object`);
    const items = (value as KubeObject).kind === "List" ? ((value as KubeObject).items ?? []) : [value];
    for (const object of items as KubeObject[]) {
      if (typeof object?.apiVersion !== "string" || typeof object?.kind !== "string")
        throw new Error(`${rel(file)}: document ${i + 1} has no apiVersion and kind`);
      if (typeof object.metadata?.name !== "string" || !object.metadata.name)
        throw new Error(`${rel(file)}: the ${object.kind} of document ${i + 1} has no metadata.name`);
      out.push({ object, source: rel(file) });
    }
  });
  return out;
}

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

function readKustomization(
  dir: string,
  rel: (f: string) => string,
  pinned: Map<string, string>,
  seen: string[],
  depth: number,
): ManifestObject[] {
  const file = kustomizationFile(dir)!;
  const real = fs.realpathSync(dir);
  if (seen.includes(real) || depth > MAX_DEPTH)
    throw new Error(`${rel(file)}: the kustomizations include each other (${[...seen, real].join(" → ")})`);
  let k: KubeObject;
  try {
    k = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as KubeObject;
  } catch (e) {
    throw new Error(`${rel(file)}: not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED_KEYS.has(key));
  if (unsupported.length > 0) {
    throw new Error(
      `${rel(file)} uses ${unsupported.join(", ")}, which Gantry does not apply itself (it supports resources, namespace and images); render the overlay to plain YAML in a gate (kustomize build ${dir} > rendered/all.yaml) and set deploy.apply to that folder`,
    );
  }
  const objects: ManifestObject[] = [];
  for (const entry of [
    ...asList(k.bases, file, "bases", rel),
    ...asList(k.resources, file, "resources", rel),
  ]) {
    if (
      /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ||
      /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(entry) ||
      entry.startsWith("git@")
    ) {
      throw new Error(
        `${rel(file)}: remote resource ${entry} is not supported; vendor it into the repository`,
      );
    }
    const full = path.resolve(dir, entry);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(full);
    } catch {
      throw new Error(`${rel(file)}: resource ${entry} does not exist`);
    }
    if (stat.isDirectory()) {
      if (!kustomizationFile(full))
        throw new Error(`${rel(file)}: resource ${entry} is a folder without a kustomization.yaml`);
      objects.push(...readKustomization(full, rel, pinned, [...seen, real], depth + 1));
    } else {
      objects.push(...readFile(full, rel));
    }
  }
  if (k.namespace !== undefined) {
    if (typeof k.namespace !== "string" || !k.namespace)
      throw new Error(`${rel(file)}: namespace must be a name`);
    for (const o of objects) o.namespace = k.namespace;
  }
  const rules = imageRules(k.images, file, rel);
  for (const o of objects) {
    eachContainer(o.object, (c) => {
      const rule = rules.find((r) => r.name === parseImage(String(c.image ?? "")).name);
      if (rule) c.image = transform(String(c.image), rule, pinned);
    });
  }
  return objects;
}

function asList(value: unknown, file: string, key: string, rel: (f: string) => string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
    throw new Error(`${rel(file)}: ${key} must be a list of paths`);
  return value as string[];
}

function imageRules(value: unknown, file: string, rel: (f: string) => string): ImageRule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${rel(file)}: images must be a list`);
  return value.map((r: KubeObject, i) => {
    if (typeof r?.name !== "string" || !r.name) throw new Error(`${rel(file)}: images[${i}] has no name`);
    const extra = Object.keys(r).filter((key) => !["name", "newName", "newTag", "digest"].includes(key));
    if (extra.length > 0)
      throw new Error(
        `${rel(file)}: images[${i}] has ${extra.join(", ")}; supported: name, newName, newTag, digest`,
      );
    if (r.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(String(r.digest)))
      throw new Error(
        `${rel(file)}: images[${i}].digest ${JSON.stringify(r.digest)} is not sha256:<64 hex digits>`,
      );
    return {
      name: r.name,
      ...(r.newName !== undefined ? { newName: String(r.newName) } : {}),
      ...(r.newTag !== undefined ? { newTag: String(r.newTag) } : {}),
      ...(r.digest !== undefined ? { digest: String(r.digest) } : {}),
    };
  });
}

function transform(image: string, rule: ImageRule, pinned: Map<string, string>): string {
  const parsed = parseImage(image);
  const name = rule.newName ?? parsed.name;
  if (rule.digest) {
    pinned.set(name, rule.digest);
    return `${name}${rule.newTag ? `:${rule.newTag}` : ""}@${rule.digest}`;
  }
  const tag = rule.newTag ?? parsed.tag;
  return `${name}${tag ? `:${tag}` : ""}${!rule.newTag && parsed.digest ? `@${parsed.digest}` : ""}`;
}

/** An image reference's parts: registry/repository name, tag and digest. */
export function parseImage(ref: string): { name: string; tag?: string; digest?: string } {
  const at = ref.indexOf("@");
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const rest = at >= 0 ? ref.slice(0, at) : ref;
  const colon = rest.lastIndexOf(":");
  const slash = rest.lastIndexOf("/");
  const hasTag = colon > slash;
  return {
    name: hasTag ? rest.slice(0, colon) : rest,
    ...(hasTag ? { tag: rest.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

const CONTAINER_LISTS = ["containers", "initContainers", "ephemeralContainers"];

/** Calls `fn` with every container of every pod spec in `object` (Deployments, Jobs, CronJobs, Pods…). */
export function eachContainer(object: unknown, fn: (container: KubeObject) => void, depth = 0): void {
  if (!object || typeof object !== "object" || depth > 12) return;
  if (Array.isArray(object)) {
    for (const item of object) eachContainer(item, fn, depth + 1);
    return;
  }
  for (const [key, value] of Object.entries(object as KubeObject)) {
    if (CONTAINER_LISTS.includes(key) && Array.isArray(value)) {
      for (const c of value as KubeObject[])
        if (c && typeof c === "object" && typeof c.image === "string") fn(c);
    } else if (value && typeof value === "object") {
      eachContainer(value, fn, depth + 1);
    }
  }
}

/**
 * Sets the release's image on every container running `image` (any tag or digest): `<image>:<tag>`,
 * or `<image>:<tag>@<digest>` with a pinned digest. Returns how many containers it set.
 */
export function setReleaseImage(
  objects: ManifestObject[],
  image: string,
  tag: string,
  digest?: string,
): number {
  let n = 0;
  for (const o of objects) {
    eachContainer(o.object, (c) => {
      if (parseImage(String(c.image)).name !== image) return;
      c.image = `${image}:${tag}${digest ? `@${digest}` : ""}`;
      n++;
    });
  }
  return n;
}

/** The images of a pod template's containers (init containers too), by container name. */
export function templateImages(template: KubeObject | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const list of ["initContainers", "containers"]) {
    for (const c of (template?.spec?.[list] ?? []) as KubeObject[]) out[String(c.name)] = String(c.image);
  }
  return out;
}

/** The tag of `image` in a pod template: the first container running it. */
export function templateTag(template: KubeObject | undefined, image: string): string | undefined {
  for (const ref of Object.values(templateImages(template))) {
    const parsed = parseImage(ref);
    if (parsed.name === image) return parsed.tag;
  }
  return undefined;
}

export function sameImages(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
