/**
 * Local stand-ins, on 127.0.0.1 and a free port, for the parts of three vendors' REST APIs
 * that the deploy recipes in examples/recipes/ call, written from each vendor's public API
 * reference. Each answers a wrong or missing bearer token with 401 and an unknown service,
 * app, site, deploy, build or release with 404, in the vendor's own error shape, and moves a
 * deploy through its states on timers, so a script has to wait for it.
 *
 * Render (https://api-docs.render.com), base /v1, errors {"id", "message"}:
 * - POST /services/{id}/deploys {clearCache?, commitId?}: 201, a deploy of a commit of the
 *   connected repository (`commits`; another is 400). build_in_progress, then
 *   update_in_progress, then live; the deploy live before becomes deactivated.
 * - GET /services/{id}/deploys?limit=: [{deploy, cursor}], newest first.
 * - GET /services/{id}/deploys/{deployId}.
 * - POST /services/{id}/rollback {deployId}: 201, a new deploy (trigger "rollback") of that
 *   deploy's commit, reusing its build: update_in_progress, then live. The target must have
 *   gone live once (live or deactivated), else 400.
 *
 * Heroku Platform API v3 (https://devcenter.heroku.com/articles/platform-api-reference), errors
 * {"id", "message"}; lists honour `Range: <field> ..; order=asc|desc, max=n` (206 and
 * Next-Range when more remain):
 * - POST /apps/{app}/builds {source_blob: {url, version}}: 201, status pending; then the
 *   tarball is downloaded from the URL (the tests serve it on loopback): a gzip makes the build
 *   succeeded with a slug and a release (status pending, then succeeded and current), anything
 *   else makes it failed.
 * - GET /apps/{app}/builds, GET /apps/{app}/builds/{id}.
 * - GET /apps/{app}/releases, GET /apps/{app}/releases/{id or version}.
 * - POST /apps/{app}/releases {release}: the rollback, a new release "Rollback to vN" with that
 *   release's slug; {slug}: a new release of that slug.
 * - GET /apps/{app}/dynos: one web dyno, "starting" while a release is pending, then "up".
 *
 * Netlify (https://open-api.netlify.com), base /api/v1, errors {"code", "message"}:
 * - POST /sites/{site_id}/deploys?title= with a zip body (Content-Type application/zip; a body
 *   that is not a zip is 422): a deploy, uploaded, then processing, then ready, and published
 *   unless the site's auto publishing is locked (`locked`).
 * - GET /sites/{site_id} (with published_deploy), GET /sites/{site_id}/deploys?page=&per_page=
 *   (newest first), GET /sites/{site_id}/deploys/{deploy_id}.
 * - POST /sites/{site_id}/deploys/{deploy_id}/restore: publishes that ready deploy (422 when it
 *   is not ready).
 *
 * Counters: Render `deploys` and `rollbacks`, Heroku `builds` and `rollbacks`, Netlify
 * `deploys` and `restores`: what the platform was asked to do, for the tests' exactly-once checks.
 */
import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import { listen } from "../../src/probes/test-support.js";

type Cleanup = (stop: () => unknown) => void;

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Incoming {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json(): Record<string, unknown> | undefined;
}

export interface RecordedRequest {
  method: string;
  url: string;
  authorized: boolean;
}

/** An HTTP server answering JSON; `route` returns undefined for 404. */
async function serveJson(
  cleanup: Cleanup,
  token: string,
  unauthorized: unknown,
  notFound: (path: string) => unknown,
  route: (req: Incoming) => Answer | undefined,
  requests: RecordedRequest[],
): Promise<string> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const authorized = req.headers.authorization === `Bearer ${token}`;
      requests.push({ method: req.method ?? "GET", url: url.pathname + url.search, authorized });
      const body = Buffer.concat(chunks);
      let answer: Answer | undefined;
      if (!authorized) answer = { status: 401, body: unauthorized };
      else {
        try {
          answer = route({
            method: req.method ?? "GET",
            path: url.pathname,
            query: url.searchParams,
            headers: req.headers,
            body,
            json: () => {
              if (body.length === 0) return {};
              try {
                const parsed = JSON.parse(body.toString("utf8"));
                return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : undefined;
              } catch {
                return undefined;
              }
            },
          });
        } catch (e) {
          answer = { status: 500, body: { message: (e as Error).message } };
        }
        answer ??= { status: 404, body: notFound(url.pathname) };
      }
      const text = answer.body === undefined ? "" : JSON.stringify(answer.body);
      res.writeHead(answer.status, {
        "content-type": "application/json; charset=utf-8",
        "content-length": Buffer.byteLength(text),
        ...answer.headers,
      });
      res.end(text);
    });
  });
  const port = await listen(server, cleanup);
  return `http://127.0.0.1:${port}`;
}

/** Timers that end with the test file. */
function timers(cleanup: Cleanup) {
  const pending = new Set<NodeJS.Timeout>();
  cleanup(() => {
    for (const t of pending) clearTimeout(t);
  });
  return (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      pending.delete(t);
      fn();
    }, ms);
    pending.add(t);
  };
}

const now = () => new Date().toISOString();

// ------------------------------------------------------------------------------------------
// Render

export type RenderStatus =
  | "build_in_progress"
  | "update_in_progress"
  | "live"
  | "deactivated"
  | "build_failed"
  | "canceled";

export interface RenderDeploy {
  id: string;
  commit: { id: string; message: string; createdAt: string };
  status: RenderStatus;
  trigger: "api" | "rollback";
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface RenderApi {
  url: string;
  requests: RecordedRequest[];
  /** Deploys of a service, newest first. */
  deploys(service: string): RenderDeploy[];
  live(service: string): RenderDeploy | undefined;
  counts: { deploys: number; rollbacks: number };
}

export async function startRenderApi(
  options: { token: string; services: string[]; commits: Record<string, string>; buildMs?: number },
  cleanup: Cleanup,
): Promise<RenderApi> {
  const buildMs = options.buildMs ?? 300;
  const later = timers(cleanup);
  const services = new Map(options.services.map((s) => [s, [] as RenderDeploy[]]));
  const counts = { deploys: 0, rollbacks: 0 };
  const requests: RecordedRequest[] = [];
  const error = (status: number, id: string, message: string): Answer => ({ status, body: { id, message } });

  const set = (d: RenderDeploy, status: RenderStatus) => {
    d.status = status;
    d.updatedAt = now();
  };
  const goLive = (list: RenderDeploy[], d: RenderDeploy) => {
    if (d.status !== "update_in_progress") return;
    for (const other of list) if (other !== d && other.status === "live") set(other, "deactivated");
    set(d, "live");
    d.finishedAt = d.updatedAt;
  };
  const create = (list: RenderDeploy[], sha: string, trigger: RenderDeploy["trigger"]) => {
    const d: RenderDeploy = {
      id: `dep-${randomBytes(10).toString("hex")}`,
      commit: { id: sha, message: options.commits[sha] ?? "", createdAt: now() },
      status: trigger === "api" ? "build_in_progress" : "update_in_progress",
      trigger,
      createdAt: now(),
      updatedAt: now(),
      finishedAt: null,
    };
    list.unshift(d);
    if (trigger === "api") {
      later(buildMs, () => d.status === "build_in_progress" && set(d, "update_in_progress"));
      later(buildMs + buildMs / 2, () => goLive(list, d));
    } else later(buildMs / 2, () => goLive(list, d));
    return d;
  };

  const url = await serveJson(
    cleanup,
    options.token,
    { id: "unauthorized", message: "unauthorized" },
    () => ({ id: "not-found", message: "not found" }),
    (req) => {
      const m = /^\/v1\/services\/([^/]+)\/(deploys|rollback)(?:\/([^/]+))?$/.exec(req.path);
      if (!m) return undefined;
      const list = services.get(m[1]!);
      if (!list) return error(404, "not-found", "service not found");
      if (m[2] === "deploys" && !m[3] && req.method === "POST") {
        const body = req.json();
        if (!body) return error(400, "invalid-json", "invalid JSON body");
        const shas = Object.keys(options.commits);
        const sha = body.commitId === undefined ? shas.at(-1) : body.commitId;
        if (typeof sha !== "string" || !(sha in options.commits)) {
          return error(400, "invalid-commit", `commit ${String(sha)} is not in the connected repository`);
        }
        counts.deploys++;
        return { status: 201, body: create(list, sha, "api") };
      }
      if (m[2] === "deploys" && !m[3] && req.method === "GET") {
        const limit = Math.min(Math.max(Number(req.query.get("limit") ?? 20) || 20, 1), 100);
        return { status: 200, body: list.slice(0, limit).map((deploy) => ({ deploy, cursor: deploy.id })) };
      }
      if (m[2] === "deploys" && m[3] && req.method === "GET") {
        const d = list.find((x) => x.id === m[3]);
        return d ? { status: 200, body: d } : error(404, "not-found", "deploy not found");
      }
      if (m[2] === "rollback" && !m[3] && req.method === "POST") {
        const body = req.json();
        const target = list.find((x) => x.id === body?.deployId);
        if (!target) return error(404, "not-found", "deploy not found");
        if (target.status !== "live" && target.status !== "deactivated") {
          return error(400, "invalid-deploy", `deploy ${target.id} never went live`);
        }
        counts.rollbacks++;
        return { status: 201, body: create(list, target.commit.id, "rollback") };
      }
      return undefined;
    },
    requests,
  );
  return {
    url: `${url}/v1`,
    requests,
    deploys: (service) => [...(services.get(service) ?? [])],
    live: (service) => services.get(service)?.find((d) => d.status === "live"),
    counts,
  };
}

// ------------------------------------------------------------------------------------------
// Heroku

export interface HerokuBuild {
  id: string;
  status: "pending" | "succeeded" | "failed";
  source_blob: { url: string; version: string | null; checksum: null; version_description: null };
  slug: { id: string } | null;
  release: { id: string } | null;
  created_at: string;
  updated_at: string;
}

export interface HerokuRelease {
  id: string;
  version: number;
  status: "pending" | "succeeded" | "failed";
  current: boolean;
  description: string;
  slug: { id: string } | null;
  created_at: string;
  updated_at: string;
}

export interface HerokuApi {
  url: string;
  requests: RecordedRequest[];
  builds(app: string): HerokuBuild[];
  releases(app: string): HerokuRelease[];
  current(app: string): HerokuRelease | undefined;
  counts: { builds: number; rollbacks: number };
}

/** `Range: <field> ..; order=desc, max=n` applied to a list sorted ascending by that field. */
function herokuRange<T>(items: T[], header: string | undefined): Answer {
  let list = items;
  let max = 200;
  if (header) {
    if (/order=desc/.test(header)) list = [...items].reverse();
    const m = /max=(\d+)/.exec(header);
    if (m) max = Math.min(Number(m[1]), 1000);
  }
  const page = list.slice(0, max);
  return page.length < list.length
    ? { status: 206, body: page, headers: { "next-range": `]${page.length}..; max=${max}` } }
    : { status: 200, body: page };
}

export async function startHerokuApi(
  options: { token: string; apps: string[]; buildMs?: number; releaseMs?: number },
  cleanup: Cleanup,
): Promise<HerokuApi> {
  const buildMs = options.buildMs ?? 300;
  const releaseMs = options.releaseMs ?? 150;
  const later = timers(cleanup);
  const apps = new Map(
    options.apps.map((a) => [
      a,
      { id: randomUUID(), builds: [] as HerokuBuild[], releases: [] as HerokuRelease[] },
    ]),
  );
  const counts = { builds: 0, rollbacks: 0 };
  const requests: RecordedRequest[] = [];
  const error = (status: number, id: string, message: string): Answer => ({ status, body: { id, message } });

  const release = (app: { releases: HerokuRelease[] }, slug: string, description: string) => {
    const r: HerokuRelease = {
      id: randomUUID(),
      version: app.releases.length + 1,
      status: "pending",
      current: false,
      description,
      slug: { id: slug },
      created_at: now(),
      updated_at: now(),
    };
    app.releases.push(r);
    later(releaseMs, () => {
      for (const other of app.releases) other.current = false;
      r.status = "succeeded";
      r.current = true;
      r.updated_at = now();
    });
    return r;
  };

  const url = await serveJson(
    cleanup,
    options.token,
    { id: "unauthorized", message: "Invalid credentials provided." },
    () => ({ id: "not_found", message: "The requested API endpoint was not found." }),
    (req) => {
      const m = /^\/apps\/([^/]+)\/(builds|releases|dynos)(?:\/([^/]+))?$/.exec(req.path);
      if (!m) return undefined;
      const app = apps.get(m[1]!);
      if (!app) return error(404, "not_found", "Couldn't find that app.");
      const [, , kind, item] = m;
      if (kind === "builds" && !item && req.method === "POST") {
        const blob = req.json()?.source_blob as { url?: unknown; version?: unknown } | undefined;
        if (!blob || typeof blob.url !== "string" || !/^https?:\/\//.test(blob.url)) {
          return error(422, "invalid_params", "source_blob.url must be an http or https URL.");
        }
        counts.builds++;
        const b: HerokuBuild = {
          id: randomUUID(),
          status: "pending",
          source_blob: {
            url: blob.url,
            version: typeof blob.version === "string" ? blob.version : null,
            checksum: null,
            version_description: null,
          },
          slug: null,
          release: null,
          created_at: now(),
          updated_at: now(),
        };
        app.builds.push(b);
        // Heroku downloads the tarball; a build whose source cannot be had, or is no gzip, fails.
        later(buildMs, () => {
          void fetch(b.source_blob.url, { signal: AbortSignal.timeout(5000) })
            .then(async (res) => (res.ok ? Buffer.from(await res.arrayBuffer()) : undefined))
            .catch(() => undefined)
            .then((tarball) => {
              b.updated_at = now();
              const gzip = tarball !== undefined && tarball.length > 2 && tarball.readUInt16BE(0) === 0x1f8b;
              if (!gzip) {
                b.status = "failed";
                return;
              }
              b.status = "succeeded";
              b.slug = { id: randomUUID() };
              b.release = { id: release(app, b.slug.id, `Deploy ${b.source_blob.version ?? ""}`.trim()).id };
            });
        });
        return { status: 201, body: b };
      }
      if (kind === "builds" && !item && req.method === "GET")
        return herokuRange(app.builds, req.headers.range);
      if (kind === "builds" && item && req.method === "GET") {
        const b = app.builds.find((x) => x.id === item);
        return b ? { status: 200, body: b } : error(404, "not_found", "Couldn't find that build.");
      }
      if (kind === "releases" && !item && req.method === "GET")
        return herokuRange(app.releases, req.headers.range);
      if (kind === "releases" && item && req.method === "GET") {
        const r = app.releases.find((x) => x.id === item || String(x.version) === item);
        return r ? { status: 200, body: r } : error(404, "not_found", "Couldn't find that release.");
      }
      if (kind === "releases" && !item && req.method === "POST") {
        const body = req.json() ?? {};
        if (typeof body.release === "string" || typeof body.release === "number") {
          const target = app.releases.find(
            (x) => x.id === body.release || x.version === Number(body.release),
          );
          if (!target?.slug) return error(404, "not_found", "Couldn't find that release.");
          counts.rollbacks++;
          return { status: 201, body: release(app, target.slug.id, `Rollback to v${target.version}`) };
        }
        if (typeof body.slug === "string") {
          if (!app.builds.some((b) => b.slug?.id === body.slug)) {
            return error(404, "not_found", "Couldn't find that slug.");
          }
          return {
            status: 201,
            body: release(app, body.slug, typeof body.description === "string" ? body.description : "Deploy"),
          };
        }
        return error(422, "invalid_params", "Either release or slug is required.");
      }
      if (kind === "dynos" && !item && req.method === "GET") {
        const current = app.releases.find((r) => r.current);
        if (!current) return { status: 200, body: [] };
        const pending = app.releases.some((r) => r.status === "pending");
        return {
          status: 200,
          body: [
            {
              id: randomUUID(),
              name: "web.1",
              type: "web",
              state: pending ? "starting" : "up",
              release: { id: current.id, version: current.version },
            },
          ],
        };
      }
      return undefined;
    },
    requests,
  );
  return {
    url,
    requests,
    builds: (a) => [...(apps.get(a)?.builds ?? [])],
    releases: (a) => [...(apps.get(a)?.releases ?? [])],
    current: (a) => apps.get(a)?.releases.find((r) => r.current),
    counts,
  };
}

// ------------------------------------------------------------------------------------------
// Netlify

export interface NetlifyDeploy {
  id: string;
  site_id: string;
  state: "uploaded" | "processing" | "ready" | "error";
  title: string | null;
  context: "production";
  created_at: string;
  updated_at: string;
  published_at: string | null;
  deploy_url: string;
  error_message: string | null;
}

export interface NetlifyApi {
  url: string;
  requests: RecordedRequest[];
  /** Deploys of a site, newest first, with the zip each was uploaded as. */
  deploys(site: string): Array<NetlifyDeploy & { zip: Buffer }>;
  published(site: string): (NetlifyDeploy & { zip: Buffer }) | undefined;
  counts: { deploys: number; restores: number };
}

export async function startNetlifyApi(
  options: { token: string; sites: string[]; locked?: string[]; buildMs?: number },
  cleanup: Cleanup,
): Promise<NetlifyApi> {
  const buildMs = options.buildMs ?? 300;
  const later = timers(cleanup);
  type Stored = NetlifyDeploy & { zip: Buffer };
  const sites = new Map(
    options.sites.map((s) => [s, { deploys: [] as Stored[], published: undefined as Stored | undefined }]),
  );
  const counts = { deploys: 0, restores: 0 };
  const requests: RecordedRequest[] = [];
  const error = (status: number, message: string): Answer => ({ status, body: { code: status, message } });
  const view = ({ zip: _zip, ...d }: Stored): NetlifyDeploy => d;
  const publish = (site: { published?: Stored }, d: Stored) => {
    d.published_at = now();
    d.updated_at = d.published_at;
    site.published = d;
  };

  const url = await serveJson(
    cleanup,
    options.token,
    { code: 401, message: "Access Denied: Invalid token" },
    () => ({ code: 404, message: "Not Found" }),
    (req) => {
      const m = /^\/api\/v1\/sites\/([^/]+)(?:\/deploys(?:\/([^/]+)(\/restore)?)?)?$/.exec(req.path);
      if (!m) return undefined;
      const siteId = m[1]!;
      const site = sites.get(siteId);
      if (!site) return error(404, "Not Found");
      const onDeploys = req.path.includes("/deploys");
      const [, , deployId, restore] = m;
      if (!onDeploys && req.method === "GET") {
        return {
          status: 200,
          body: {
            id: siteId,
            name: siteId,
            url: `https://${siteId}.netlify.app`,
            state: "current",
            published_deploy: site.published ? view(site.published) : null,
          },
        };
      }
      if (onDeploys && !deployId && req.method === "POST") {
        if (!String(req.headers["content-type"]).startsWith("application/zip")) {
          return error(422, "Only zip uploads are accepted by this stand-in (Content-Type: application/zip)");
        }
        if (req.body.length < 22 || req.body.readUInt32LE(0) !== 0x04034b50) {
          return error(422, "The uploaded file is not a valid zip archive");
        }
        counts.deploys++;
        const id = randomBytes(12).toString("hex");
        const d: Stored = {
          id,
          site_id: siteId,
          state: "uploaded",
          title: req.query.get("title"),
          context: "production",
          created_at: now(),
          updated_at: now(),
          published_at: null,
          deploy_url: `https://${id}--${siteId}.netlify.app`,
          error_message: null,
          zip: req.body,
        };
        site.deploys.unshift(d);
        later(buildMs / 3, () => {
          d.state = "processing";
          d.updated_at = now();
        });
        later(buildMs, () => {
          d.state = "ready";
          d.updated_at = now();
          if (!options.locked?.includes(siteId)) publish(site, d);
        });
        return { status: 200, body: view(d) };
      }
      if (onDeploys && !deployId && req.method === "GET") {
        const perPage = Math.min(Math.max(Number(req.query.get("per_page") ?? 100) || 100, 1), 100);
        const page = Math.max(Number(req.query.get("page") ?? 1) || 1, 1);
        return { status: 200, body: site.deploys.slice((page - 1) * perPage, page * perPage).map(view) };
      }
      const d = deployId ? site.deploys.find((x) => x.id === deployId) : undefined;
      if (deployId && !d) return error(404, "Not Found");
      if (d && !restore && req.method === "GET") return { status: 200, body: view(d) };
      if (d && restore && req.method === "POST") {
        if (d.state !== "ready") return error(422, `Deploy ${d.id} is ${d.state}, not ready`);
        counts.restores++;
        publish(site, d);
        return { status: 200, body: view(d) };
      }
      return undefined;
    },
    requests,
  );
  return {
    url: `${url}/api/v1`,
    requests,
    deploys: (s) => [...(sites.get(s)?.deploys ?? [])],
    published: (s) => sites.get(s)?.published,
    counts,
  };
}
