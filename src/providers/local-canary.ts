/**
 * The local-process canary: two versions on one machine behind the weighted proxy
 * (weighted-proxy.ts) on the service's port.
 *
 * start (a deploy with a weight): the serving version goes on serving; when it listens on the
 * service's port itself, a copy of it is started on a free port first. The canary starts on
 * another free port; once both are healthy the proxy takes the service's port (the version
 * listening there is stopped just before, a gap of a few milliseconds) and sends each the
 * stated share. shift moves the shares (the proxy rereads its routes on SIGHUP); at 1 the
 * stable version is stopped and the canary is what serves. abort (a rollback to the stable
 * version) sends every request to the stable version again, then stops the canary. The proxy
 * stays on the port after a promotion, so the next canary starts without a gap.
 *
 * `<localDir>/canary.json` records the proxy, the canary and its share, and any process
 * started but not yet part of the routes (so a retry after a crash stops it first);
 * `<localDir>/routes.json` is what the proxy reads. The version serving stays in
 * process.json, and every start, shift and abort is an entry in the provider state.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../exec/port.js";
import { portStaysTaken, probe, spawnDetached, tail } from "./local-support.js";
import { groupAlive, isOurGroup, procStartTime, stopGroup } from "./process-group.js";
import type { ProcessFile, ProcessRecord } from "./process-record.js";
import { durationText, sleep } from "./state.js";
import type { DeployRequest, DeployResult, ProviderOptions, ShiftRequest, ShiftResult } from "./types.js";
import type { Routes } from "./weighted-proxy.js";

/** The proxy's code: beside this file in dist/src/providers, and as its own bundle entry in dist/cli. */
const PROXY_SCRIPT = fileURLToPath(new URL("./weighted-proxy.js", import.meta.url));
const POLL_MS = 50;

interface Proc {
  pid: number;
  procStart?: string;
  port: number;
}

export interface CanaryRecord {
  proxy?: Proc;
  canary?: ProcessRecord;
  /** The canary's share of requests. */
  weight?: number;
  /** Started, not yet routed to: stopped by a retry. */
  pending?: Proc[];
}

export interface LocalCanaryDeps {
  spec: { port: number; health: string; start: string };
  options: ProviderOptions;
  processes: ProcessFile;
  logPathFor(version: string): string;
}

const percent = (weight: number) => `${Math.round(weight * 1000) / 10}%`;

export class LocalCanary {
  private readonly file: string;
  private readonly routesFile: string;

  constructor(private readonly deps: LocalCanaryDeps) {
    this.file = join(deps.options.localDir, "canary.json");
    this.routesFile = join(deps.options.localDir, "routes.json");
  }

  read(): CanaryRecord {
    try {
      return JSON.parse(readFileSync(this.file, "utf8")) as CanaryRecord;
    } catch {
      return {};
    }
  }

  /** A canary serves beside the stable version now. */
  live(): ProcessRecord | undefined {
    const { canary, proxy } = this.read();
    return canary && proxy && alive(canary) && alive(proxy) ? canary : undefined;
  }

  targets(): { canary?: string; stable?: string } {
    const canary = this.live();
    const stable = this.deps.processes.read();
    return {
      ...(canary ? { canary: `http://127.0.0.1:${canary.port}` } : {}),
      ...(stable && alive(stable) ? { stable: `http://127.0.0.1:${stable.port}` } : {}),
    };
  }

  /** Starts `request.version` beside the version serving, with `request.weight` of the requests. */
  async start(request: DeployRequest, stable: ProcessRecord): Promise<DeployResult> {
    const { version, key } = request;
    const weight = request.weight!;
    const { state } = this.deps.options;
    const entry = await state.entry(key);
    const live = this.live();
    if (entry?.result === "ok" && live?.key === key && live.version === version) {
      return {
        ok: true,
        started: true,
        replayed: true,
        version,
        previousVersion: stable.version,
        message: `canary ${version} already serving ${percent(this.read().weight ?? weight)} of requests for ${key}; nothing done`,
      };
    }
    await this.cleanUp();
    await state.begin({ key, version, action: "deploy", previousVersion: stable.version });
    const timeoutMs = request.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const fail = async (message: string, output: string[] = []): Promise<DeployResult> => {
      await this.cleanUp();
      await state.finish(key, "failed", message);
      // The stable version was never taken off its port: nothing changed.
      return { ok: false, started: false, previousVersion: stable.version, message, output };
    };

    // The stable version on a port of its own, so the proxy can take the service's.
    let stableProc: ProcessRecord = stable;
    const direct = stable.port === this.deps.spec.port;
    if (direct) {
      const copy = await this.launch(stable.version, key, deadline, request.signal);
      if ("error" in copy) return fail(`could not start ${stable.version} beside the canary: ${copy.error}`);
      stableProc = copy.record;
    }
    const canary = await this.launch(version, key, deadline, request.signal);
    if ("error" in canary) return fail(`canary ${version} ${canary.error}`, canary.output);

    const routes = this.routes(stableProc, canary.record, weight);
    const record: CanaryRecord = { ...this.read(), canary: canary.record, weight };
    if (record.proxy && alive(record.proxy)) {
      this.reload(routes, record.proxy);
    } else {
      if (direct) {
        // The copy becomes the stable version on record before the original leaves the port,
        // and the original is pending until then: a retry after a crash anywhere here finds a
        // live stable version on record, and cleanUp() stops everything else.
        const pending = this.read().pending ?? [];
        this.write({ ...this.read(), pending: [...pending, procOf(stable)] });
        this.deps.processes.write(stableProc);
        await stopGroup(stable.pid);
      }
      const proxy = await this.startProxy(routes);
      if ("error" in proxy) {
        // The stable version left its port for the proxy: what serves changed, and a rollback puts it back.
        const message = `the weighted proxy did not start on port ${this.deps.spec.port}: ${proxy.error}`;
        if (direct) this.deps.processes.write(stableProc);
        await state.finish(key, "failed", message, null);
        return { ok: false, started: direct, previousVersion: stable.version, message };
      }
      record.proxy = proxy;
    }
    this.deps.processes.write(stableProc);
    this.write({ ...record, pending: [] });
    const message = `canary ${version} (pid ${canary.record.pid}) serving ${percent(weight)} of requests on 127.0.0.1:${this.deps.spec.port}, ${stable.version} the rest`;
    await state.finish(key, "ok", message);
    return { ok: true, started: true, version, previousVersion: stable.version, message };
  }

  /** Moves the canary's share; at 1, the stable version is stopped and the canary serves. */
  async shift(request: ShiftRequest): Promise<ShiftResult> {
    const { version, key, weight } = request;
    const { state } = this.deps.options;
    const entry = await state.entry(key);
    const record = this.read();
    const stable = this.deps.processes.read();
    if (entry?.result === "ok" && entry.version === version) {
      return {
        ok: true,
        weight,
        replayed: true,
        message: `${percent(weight)} already on ${version}; not shifted again`,
      };
    }
    const canary = this.live();
    // Nothing served when the deploy ran: the version was started alone and has every request.
    if (!canary && stable && alive(stable) && stable.version === version && !record.proxy) {
      return {
        ok: true,
        weight: 1,
        message: `${version} serves every request (it started alone: nothing served before it)`,
      };
    }
    if (!canary || canary.version !== version || !record.proxy) {
      return { ok: false, weight: record.weight ?? 0, message: `no canary of ${version} is serving here` };
    }
    await state.begin({
      key,
      version,
      action: "shift",
      ...(stable ? { previousVersion: stable.version } : {}),
    });
    if (weight < 1 && stable) {
      this.reload(this.routes(stable, canary, weight), record.proxy);
      this.write({ ...record, weight });
      const message = `${percent(weight)} of requests on ${version}, ${stable.version} the rest`;
      await state.finish(key, "ok", message);
      return { ok: true, weight, message };
    }
    this.reload(this.routes(undefined, canary, 1), record.proxy);
    await sleep(POLL_MS);
    if (stable && stable.pid !== canary.pid) await stopGroup(stable.pid);
    this.deps.processes.write(canary);
    this.write({ proxy: record.proxy, weight: 1 });
    const message = `${version} promoted: every request${stable ? `; ${stable.version} stopped` : ""}`;
    await state.finish(key, "ok", message, version);
    return { ok: true, weight: 1, message };
  }

  /** Every request back on the stable version, then the canary stopped. */
  async abort(request: DeployRequest): Promise<DeployResult> {
    const { version, key } = request;
    const { state } = this.deps.options;
    const record = this.read();
    const canary = record.canary;
    const stable = this.deps.processes.read();
    if (!stable || !record.proxy) return { ok: false, started: false, message: "no canary is serving here" };
    await state.begin({
      key,
      version,
      action: "rollback",
      ...(canary ? { previousVersion: canary.version } : {}),
    });
    const started = Date.now();
    this.reload(this.routes(stable, undefined, 0), record.proxy);
    if (canary) await stopGroup(canary.pid);
    this.write({ proxy: record.proxy, weight: 0 });
    const answer = await probe(`http://127.0.0.1:${this.deps.spec.port}${this.deps.spec.health}`, 1000);
    const healthy = answer.status === 200;
    const message = healthy
      ? `every request back on ${version} in ${durationText(Date.now() - started)}${canary ? `; canary ${canary.version} stopped` : ""}`
      : `requests back on ${version}, but it does not answer healthy (${answer.status ? `HTTP ${answer.status}` : answer.error})`;
    await state.finish(key, healthy ? "ok" : "failed", message, version);
    return {
      ok: healthy,
      started: true,
      version,
      ...(canary ? { previousVersion: canary.version } : {}),
      message,
    };
  }

  /**
   * Stops the proxy, the canary and anything pending but the stable version on record: before a
   * plain deploy takes the port, or a stop (which stops the stable version itself).
   */
  async dismantle(): Promise<void> {
    const record = this.read();
    const stable = this.deps.processes.read();
    for (const p of [record.proxy, record.canary, ...(record.pending ?? [])])
      if (p && p.pid !== stable?.pid && alive(p)) await stopGroup(p.pid);
    rmSync(this.file, { force: true });
    rmSync(this.routesFile, { force: true });
  }

  /** A retry after a crash: what a start left half done is stopped (the canary, a stable copy not yet routed to). */
  private async cleanUp(): Promise<void> {
    const record = this.read();
    // The stable version on record is kept, even when an interrupted start had it pending.
    const stable = this.deps.processes.read();
    for (const p of record.pending ?? []) if (p.pid !== stable?.pid && alive(p)) await stopGroup(p.pid);
    if (record.canary && alive(record.canary)) {
      if (record.proxy && alive(record.proxy)) {
        if (stable) this.reload(this.routes(stable, undefined, 0), record.proxy);
      }
      await stopGroup(record.canary.pid);
    }
    this.write({ ...(record.proxy && alive(record.proxy) ? { proxy: record.proxy } : {}), pending: [] });
  }

  private routes(
    stable: (Proc & { version?: string }) | undefined,
    canary: ProcessRecord | undefined,
    weight: number,
  ): Routes {
    const targets: Routes["targets"] = [];
    if (stable && weight < 1)
      targets.push({ port: stable.port, weight: 1 - weight, version: stable.version ?? "" });
    if (canary && weight > 0) targets.push({ port: canary.port, weight, version: canary.version });
    return { port: this.deps.spec.port, targets };
  }

  private writeRoutes(routes: Routes): void {
    mkdirSync(this.deps.options.localDir, { recursive: true });
    const temp = `${this.routesFile}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(routes)}\n`);
    renameSync(temp, this.routesFile);
  }

  private reload(routes: Routes, proxy: Proc): void {
    this.writeRoutes(routes);
    process.kill(proxy.pid, "SIGHUP");
  }

  private write(record: CanaryRecord): void {
    mkdirSync(this.deps.options.localDir, { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(record, null, 2)}\n`);
    renameSync(temp, this.file);
  }

  /** Starts one version on a free port (recorded as pending first) and waits for it to be healthy. */
  private async launch(
    version: string,
    key: string,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<{ record: ProcessRecord } | { error: string; output?: string[] }> {
    const { spec, options } = this.deps;
    const port = await freePort();
    const logPath = this.deps.logPathFor(version);
    mkdirSync(options.localDir, { recursive: true });
    const command = options.render(spec.start, { version });
    const child = await spawnDetached(command, options.cwd, logPath, {
      ...process.env,
      ...options.env,
      PORT: String(port),
      VERSION: version,
    });
    if ("error" in child) return { error: `could not start: ${child.error}` };
    const procStart = procStartTime(child.pid);
    const proc = { pid: child.pid, port, ...(procStart ? { procStart } : {}) };
    const record = this.read();
    this.write({ ...record, pending: [...(record.pending ?? []), proc] });
    const url = `http://127.0.0.1:${port}${spec.health}`;
    let last = "no answer yet";
    while (Date.now() < deadline && !signal?.aborted) {
      if (!groupAlive(child.pid)) {
        const output = tail(logPath, 0, 5).map(options.redact);
        return { error: `exited before becoming healthy; see ${logPath}`, output };
      }
      const answer = await probe(url, Math.max(1, Math.min(1000, deadline - Date.now())), signal);
      if (answer.status === 200)
        return { record: { ...proc, version, key, startedAt: new Date().toISOString() } };
      last = answer.status !== undefined ? `HTTP ${answer.status}` : answer.error;
      await sleep(POLL_MS, signal);
    }
    await stopGroup(child.pid);
    return { error: `did not become healthy in time (last: ${last}); see ${logPath}` };
  }

  /** The proxy as a detached process of its own; resolves once it answers on the service's port. */
  private async startProxy(routes: Routes): Promise<Proc | { error: string }> {
    const { options, spec } = this.deps;
    if (await portStaysTaken(spec.port, 2000)) return { error: `port ${spec.port} is still in use` };
    this.writeRoutes(routes);
    const logPath = join(options.localDir, "proxy.log");
    const fd = openSync(logPath, "a");
    let pid: number | undefined;
    try {
      const child = spawn(process.execPath, [PROXY_SCRIPT, this.routesFile], {
        cwd: options.localDir,
        stdio: ["ignore", fd, fd],
        detached: true,
      });
      child.on("error", () => {});
      child.unref();
      pid = child.pid;
    } finally {
      closeSync(fd);
    }
    if (pid === undefined) return { error: "could not start node" };
    const procStart = procStartTime(pid);
    const proc: Proc = { pid, port: spec.port, ...(procStart ? { procStart } : {}) };
    const record = this.read();
    this.write({ ...record, pending: [...(record.pending ?? []), proc] });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (!groupAlive(pid)) return { error: `it exited; see ${logPath}` };
      const answer = await probe(`http://127.0.0.1:${spec.port}${spec.health}`, 500);
      if (answer.status !== undefined) return proc;
      await sleep(20);
    }
    await stopGroup(pid);
    return { error: `it did not answer within 5s; see ${logPath}` };
  }
}

function procOf(p: ProcessRecord): Proc {
  return { pid: p.pid, port: p.port, ...(p.procStart ? { procStart: p.procStart } : {}) };
}

function alive(p: Proc): boolean {
  return isOurGroup(p.pid, p.procStart);
}
