/**
 * A small client of the Kubernetes API for the kubernetes provider: the kubeconfig read and
 * merged as kubectl does (an explicit file, else $KUBECONFIG's list, else ~/.kube/config; the
 * first definition of a name wins), one context's cluster and user, and JSON requests over
 * node:http/https. No kubectl and no client library: Debian's kubectl is old and not always
 * installed, and @kubernetes/client-node 2.x needs Node 22.
 *
 * Credentials: a bearer token (token, tokenFile), client certificates (client-certificate /
 * client-key, file or -data), basic auth, or an exec credential plugin
 * (client.authentication.k8s.io ExecCredential, v1 or v1beta1: its token, refreshed when it
 * expires or the cluster answers 401). The cluster's CA from certificate-authority(-data), or
 * insecure-skip-tls-verify. Not supported, and said so: auth-provider (the removed gcp/azure
 * plugins), proxy-url, an exec plugin that returns client certificates.
 *
 * Errors are the API's Status objects made one line (KubeError, with the HTTP code and the
 * reason); 429 and 503 with Retry-After are retried within the caller's deadline.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { sleep } from "./state.js";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are open-ended JSON.
export type KubeObject = Record<string, any>;

export class KubeError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the cluster answered. */
    readonly code?: number,
    /** The Status reason: NotFound, Conflict, Invalid, Forbidden, Unauthorized… */
    readonly reason?: string,
  ) {
    super(message);
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeError && e.code === 404;
export const isConflict = (e: unknown) => e instanceof KubeError && e.code === 409;

export interface ConnectOptions {
  /** The spec's kubeconfig path, as written. */
  kubeconfig?: string;
  context?: string;
  /** For $KUBECONFIG and $HOME, and the exec plugin's environment. */
  env: Record<string, string | undefined>;
  /** Relative kubeconfig paths start here (the runbook's folder). */
  cwd: string;
}

interface Entry {
  // biome-ignore lint/suspicious/noExplicitAny: a kubeconfig entry as written.
  value: Record<string, any>;
  /** The folder of the file that defined it: its relative paths start there. */
  dir: string;
}

interface Kubeconfig {
  files: string[];
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
  currentContext?: string;
}

const home = (env: Record<string, string | undefined>) => env.HOME || os.homedir();
const expandHome = (p: string, env: Record<string, string | undefined>) =>
  p === "~" ? home(env) : p.startsWith("~/") ? path.join(home(env), p.slice(2)) : p;

/** Which kubeconfig files apply, and how they were chosen (for messages). */
export function kubeconfigFiles(options: ConnectOptions): { files: string[]; from: string } {
  if (options.kubeconfig) {
    return {
      files: [path.resolve(options.cwd, expandHome(options.kubeconfig, options.env))],
      from: "deploy.kubeconfig",
    };
  }
  const list = options.env.KUBECONFIG;
  if (list) return { files: list.split(path.delimiter).filter(Boolean), from: "$KUBECONFIG" };
  return { files: [path.join(home(options.env), ".kube", "config")], from: "the default ~/.kube/config" };
}

function loadKubeconfig(options: ConnectOptions): Kubeconfig {
  const { files, from } = kubeconfigFiles(options);
  const config: Kubeconfig = { files: [], clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      // kubectl skips a missing file of $KUBECONFIG's list, not an explicit one.
      if (from === "$KUBECONFIG" && (e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new Error(`cannot read the kubeconfig ${file} (${from}): ${(e as Error).message}`);
    }
    let doc: KubeObject;
    try {
      doc = (YAML.parse(text) ?? {}) as KubeObject;
    } catch (e) {
      throw new Error(`the kubeconfig ${file} is not valid YAML: ${(e as Error).message}`);
    }
    config.files.push(file);
    const dir = path.dirname(file);
    const add = (map: Map<string, Entry>, list: unknown, key: string) => {
      if (!Array.isArray(list)) return;
      for (const item of list as KubeObject[]) {
        if (typeof item?.name === "string" && !map.has(item.name))
          map.set(item.name, { value: item[key] ?? {}, dir });
      }
    };
    add(config.clusters, doc.clusters, "cluster");
    add(config.users, doc.users, "user");
    add(config.contexts, doc.contexts, "context");
    if (!config.currentContext && typeof doc["current-context"] === "string" && doc["current-context"])
      config.currentContext = doc["current-context"];
  }
  if (config.files.length === 0)
    throw new Error(`no kubeconfig found: ${from} lists ${files.join(", ")}, and none exists`);
  return config;
}

/** The file (relative to its kubeconfig) or inline base64 data of a field pair such as certificate-authority. */
function material(entry: Entry, field: string): Buffer | undefined {
  const data = entry.value[`${field}-data`];
  if (typeof data === "string" && data) return Buffer.from(data, "base64");
  const file = entry.value[field];
  if (typeof file === "string" && file) {
    const full = path.resolve(entry.dir, file);
    try {
      return fs.readFileSync(full);
    } catch (e) {
      throw new Error(`cannot read ${field} ${full}: ${(e as Error).message}`);
    }
  }
  return undefined;
}

interface ExecToken {
  token: string;
  /** Epoch ms; undefined: until the cluster refuses it. */
  expires?: number;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Epoch ms: give up (and stop retrying) by then. */
  deadline?: number;
}

const REQUEST_TIMEOUT_MS = 30_000;
const MAX_RETRIES = 10;

export interface KubeResource {
  plural: string;
  namespaced: boolean;
  /** /api/v1 or /apis/<group>/<version>. */
  base: string;
  kind: string;
}

export class KubeClient {
  /** Where requests go: "context stand-in (http://127.0.0.1:40123)". */
  readonly where: string;
  readonly server: URL;
  /** The context's namespace, when it names one. */
  readonly contextNamespace?: string;
  private readonly agent: http.Agent;
  private readonly userName: string;
  private readonly user: Entry;
  private readonly execEnv: Record<string, string | undefined>;
  private execToken?: ExecToken;
  private readonly discovery = new Map<string, Promise<KubeObject>>();

  constructor(options: ConnectOptions) {
    const config = loadKubeconfig(options);
    const files = config.files.join(", ");
    const contextName = options.context ?? config.currentContext;
    if (!contextName)
      throw new Error(
        `the kubeconfig ${files} has no current-context; set deploy.context to one of its contexts`,
      );
    const context = config.contexts.get(contextName);
    if (!context) {
      const known = [...config.contexts.keys()];
      throw new Error(
        `the kubeconfig ${files} has no context ${JSON.stringify(contextName)} (its contexts: ${known.join(", ") || "none"})`,
      );
    }
    const clusterName = String(context.value.cluster ?? "");
    const cluster = config.clusters.get(clusterName);
    if (!cluster)
      throw new Error(
        `context ${contextName}: the kubeconfig ${files} has no cluster ${JSON.stringify(clusterName)}`,
      );
    this.userName = String(context.value.user ?? "");
    const user = this.userName ? config.users.get(this.userName) : { value: {}, dir: "." };
    if (!user)
      throw new Error(
        `context ${contextName}: the kubeconfig ${files} has no user ${JSON.stringify(this.userName)}`,
      );
    this.user = user;
    if (typeof context.value.namespace === "string" && context.value.namespace)
      this.contextNamespace = context.value.namespace;
    const server = String(cluster.value.server ?? "");
    try {
      this.server = new URL(server);
    } catch {
      throw new Error(`cluster ${clusterName}: server ${JSON.stringify(server)} is not a URL`);
    }
    if (cluster.value["proxy-url"])
      throw new Error(
        `cluster ${clusterName} uses proxy-url, which Gantry does not support; reach the API server directly`,
      );
    if (user.value["auth-provider"])
      throw new Error(
        `user ${this.userName} uses an auth-provider (${user.value["auth-provider"]?.name ?? "?"}), which Kubernetes removed; use an exec plugin, a token or client certificates`,
      );
    this.where = `context ${contextName} (${this.server.origin})`;
    this.execEnv = options.env;

    if (this.server.protocol === "https:") {
      const cert = material(user, "client-certificate");
      const key = material(user, "client-key");
      if (Boolean(cert) !== Boolean(key))
        throw new Error(`user ${this.userName}: client-certificate and client-key go together`);
      const ca = material(cluster, "certificate-authority");
      const skip = cluster.value["insecure-skip-tls-verify"] === true;
      const servername = cluster.value["tls-server-name"];
      this.agent = new https.Agent({
        keepAlive: true,
        ...(ca ? { ca } : {}),
        ...(cert && key ? { cert, key } : {}),
        ...(skip ? { rejectUnauthorized: false } : {}),
        ...(typeof servername === "string" && servername ? { servername } : {}),
      });
    } else if (this.server.protocol === "http:") {
      this.agent = new http.Agent({ keepAlive: true });
    } else {
      throw new Error(`cluster ${clusterName}: server ${server} is neither https:// nor http://`);
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private async authorization(refresh = false): Promise<string | undefined> {
    const u = this.user.value;
    if (typeof u.token === "string" && u.token) return `Bearer ${u.token}`;
    if (typeof u.tokenFile === "string" && u.tokenFile) {
      const file = path.resolve(this.user.dir, u.tokenFile);
      try {
        return `Bearer ${fs.readFileSync(file, "utf8").trim()}`;
      } catch (e) {
        throw new Error(`user ${this.userName}: cannot read tokenFile ${file}: ${(e as Error).message}`);
      }
    }
    if (u.exec) {
      const cached = this.execToken;
      if (!refresh && cached && (cached.expires === undefined || cached.expires - 10_000 > Date.now()))
        return `Bearer ${cached.token}`;
      this.execToken = await this.runExec(u.exec as KubeObject);
      return `Bearer ${this.execToken.token}`;
    }
    if (typeof u.username === "string" && u.username)
      return `Basic ${Buffer.from(`${u.username}:${u.password ?? ""}`).toString("base64")}`;
    return undefined;
  }

  /** Runs the kubeconfig's exec credential plugin once and reads its ExecCredential. */
  private runExec(exec: KubeObject): Promise<ExecToken> {
    const who = `user ${this.userName}: exec plugin ${exec.command}`;
    const apiVersion = String(exec.apiVersion ?? "client.authentication.k8s.io/v1");
    let command = String(exec.command ?? "");
    if (command.includes("/") && !path.isAbsolute(command)) command = path.resolve(this.user.dir, command);
    const env: Record<string, string | undefined> = { ...process.env, ...this.execEnv };
    for (const e of (exec.env ?? []) as KubeObject[]) env[String(e.name)] = String(e.value ?? "");
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion,
      kind: "ExecCredential",
      spec: { interactive: false },
    });
    const args = Array.isArray(exec.args) ? exec.args.map(String) : [];
    return new Promise((resolve, reject) => {
      execFile(command, args, { env, timeout: 60_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
        if (error) {
          const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
          const hint = missing && exec.installHint ? ` (${String(exec.installHint).trim()})` : "";
          const said = String(stderr).trim().split("\n").at(-1);
          return reject(
            new Error(missing ? `${who} is not installed${hint}` : `${who} failed: ${said || error.message}`),
          );
        }
        let credential: KubeObject;
        try {
          credential = JSON.parse(stdout) as KubeObject;
        } catch {
          return reject(new Error(`${who} printed no ExecCredential JSON`));
        }
        const status = credential.status ?? {};
        if (typeof status.token !== "string" || !status.token) {
          return reject(
            new Error(
              status.clientCertificateData
                ? `${who} returned client certificates, which Gantry does not use; have it return a token`
                : `${who} returned no token`,
            ),
          );
        }
        const expires = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : undefined;
        resolve({ token: status.token, ...(expires && !Number.isNaN(expires) ? { expires } : {}) });
      });
    });
  }

  /** One API call; the body of a 2xx answer, parsed. Throws KubeError for the API's refusals. */
  async request<T = KubeObject>(method: string, apiPath: string, options: RequestOptions = {}): Promise<T> {
    // A server URL with a path (a proxy in front of the API) keeps its prefix.
    const url = new URL(`${this.server.origin}${this.server.pathname.replace(/\/$/, "")}${apiPath}`);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const auth = await this.authorization(refreshed);
      const answer = await this.send(method, url, auth, options);
      if (answer.status >= 200 && answer.status < 300) {
        return (answer.body ? JSON.parse(answer.body) : {}) as T;
      }
      const status = parseStatus(answer.body);
      if (answer.status === 401 && this.user.value.exec && !refreshed) {
        refreshed = true;
        continue;
      }
      const retryAfter = Number(answer.retryAfter ?? status?.details?.retryAfterSeconds);
      const retryable = answer.status === 429 || (answer.status === 503 && Number.isFinite(retryAfter));
      if (retryable && attempt < MAX_RETRIES) {
        const waitMs = Math.max(100, (Number.isFinite(retryAfter) ? retryAfter : 1) * 1000);
        if (!options.deadline || Date.now() + waitMs < options.deadline) {
          await sleep(waitMs, options.signal);
          if (!options.signal?.aborted) continue;
        }
      }
      throw this.error(answer.status, status, method, url);
    }
  }

  private error(code: number, status: KubeObject | undefined, method: string, url: URL): KubeError {
    const reason = typeof status?.reason === "string" ? status.reason : undefined;
    const said = typeof status?.message === "string" && status.message ? status.message : `HTTP ${code}`;
    if (code === 401) {
      return new KubeError(
        `the cluster refused the credentials of user ${this.userName || "(none)"} in ${this.where}: ${said} (401)`,
        code,
        reason ?? "Unauthorized",
      );
    }
    const text = `${said} (${code}${reason ? ` ${reason}` : ""}; ${method} ${url.pathname})`;
    return new KubeError(text, code, reason);
  }

  private send(
    method: string,
    url: URL,
    auth: string | undefined,
    options: RequestOptions,
  ): Promise<{ status: number; body: string; retryAfter?: string }> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const remaining = options.deadline ? options.deadline - Date.now() : REQUEST_TIMEOUT_MS;
    const timeout = Math.max(1000, Math.min(REQUEST_TIMEOUT_MS, remaining));
    const lib = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            Accept: "application/json",
            "User-Agent": "gantry",
            ...(auth ? { Authorization: auth } : {}),
            ...(body !== undefined
              ? {
                  "Content-Type": options.contentType ?? "application/json",
                  "Content-Length": Buffer.byteLength(body),
                }
              : {}),
          },
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const retryAfter = res.headers["retry-after"];
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString("utf8"),
              ...(typeof retryAfter === "string" ? { retryAfter } : {}),
            });
          });
          res.on("error", reject);
        },
      );
      req.setTimeout(timeout, () =>
        req.destroy(new Error(`no answer within ${Math.round(timeout / 1000)}s`)),
      );
      req.on("error", (e: NodeJS.ErrnoException) =>
        reject(
          options.signal?.aborted
            ? new Error("stopped")
            : new KubeError(
                `cannot reach the cluster at ${this.server.origin} (${this.where}): ${e.code ?? e.message}`,
              ),
        ),
      );
      req.end(body);
    });
  }

  /** The resource that serves `kind` of `apiVersion`, from the API's discovery (cached). */
  async resource(apiVersion: string, kind: string, options: RequestOptions = {}): Promise<KubeResource> {
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let list = this.discovery.get(base);
    if (!list) {
      list = this.request("GET", base, options.signal ? { signal: options.signal } : {}).catch(
        (e: unknown) => {
          this.discovery.delete(base);
          if (isNotFound(e))
            throw new KubeError(`the cluster does not serve ${apiVersion} (needed for ${kind})`, 404);
          throw e;
        },
      );
      this.discovery.set(base, list);
    }
    const resources = ((await list).resources ?? []) as KubeObject[];
    const found = resources.find((r) => r.kind === kind && !String(r.name).includes("/"));
    if (!found) throw new KubeError(`the cluster serves no kind ${kind} in ${apiVersion}`, 404);
    return { plural: String(found.name), namespaced: found.namespaced === true, base, kind };
  }
}

function parseStatus(body: string): KubeObject | undefined {
  try {
    const parsed = JSON.parse(body) as KubeObject;
    return parsed && typeof parsed === "object" ? parsed : undefined;
  } catch {
    return body.trim() ? { message: body.trim().slice(0, 300) } : undefined;
  }
}

/** The URL path of a resource's collection, or of one object and its subresource. */
export function resourcePath(
  r: KubeResource,
  namespace: string | undefined,
  name?: string,
  sub?: string,
): string {
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${r.base}${ns}/${r.plural}${name ? `/${encodeURIComponent(name)}` : ""}${sub ? `/${sub}` : ""}`;
}

/** The label selector of a Deployment's spec.selector, in the API's string form. */
export function selectorText(selector: KubeObject | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries((selector?.matchLabels ?? {}) as Record<string, string>))
    parts.push(`${k}=${v}`);
  for (const e of (selector?.matchExpressions ?? []) as KubeObject[]) {
    const values = ((e.values ?? []) as string[]).join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${values})`);
    else if (e.operator === "Exists") parts.push(String(e.key));
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.join(",");
}
