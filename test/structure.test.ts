/**
 * The shape of the code, checked on every run of the suite (`node --test dist/test/structure.test.js`
 * after `npm run build`, or `npm run structure`): the import graph of src/ has no cycle, a
 * lower layer never imports a higher one, and no file grows past its size limit.
 * Imports are read with TypeScript's own parser (ts.preProcessFile), type-only ones included.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";
import { ROOT } from "./helpers/paths.js";

const SRC = path.join(ROOT, "src");

/** From the top down: a file may import its own layer and those below it, never one above. */
const LAYERS: string[][] = [
  ["cli"],
  // The HTTP API translates like the CLI; the CLI's `gantry server` starts it.
  ["server"],
  ["app"],
  // Reports are views of a run's event log: they read the engine's fold of it and the store's
  // types, and know nothing of who may act; the application layer and the CLI read them.
  ["reports"],
  ["engine"],
  ["steps"],
  ["checks", "migrations", "analysis"],
  ["probes", "providers", "channels"],
  ["secrets"],
  ["runbook"],
  ["store", "exec"],
  ["errors.ts", "paths.ts", "version.ts"],
];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return /\.ts$/.test(d.name) && !/\.(test|conformance)\.ts$|\.d\.ts$|test-support\.ts$/.test(d.name)
      ? [p]
      : [];
  });
}

function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((n) => n.startsWith("."))
      .map((n) => path.resolve(path.dirname(file), n.replace(/\.js$/, ".ts")))
      .filter((t) => fs.existsSync(t));
    edges.set(
      path.relative(SRC, file),
      targets.map((t) => path.relative(SRC, t)),
    );
  }
  return edges;
}

function layerOf(file: string): number {
  const top = file.split(path.sep)[0]!;
  const i = LAYERS.findIndex((names) => names.includes(top));
  assert.ok(i >= 0, `src/${file} is in no layer of test/structure.test.ts: add ${top} to one`);
  return i;
}

/** Strongly connected components of more than one file (or a file importing itself). */
function cycles(edges: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return found;
}

describe("the structure of src/", () => {
  const edges = graph();

  it("has no import cycle", () => {
    assert.deepEqual(cycles(edges), []);
  });

  it("never imports from a higher layer", () => {
    const wrong: string[] = [];
    for (const [from, targets] of edges) {
      for (const to of targets) if (layerOf(to) < layerOf(from)) wrong.push(`${from} → ${to}`);
    }
    assert.deepEqual(wrong, []);
  });

  it("keeps engine files under 300 lines and every source file under 600", () => {
    const over: string[] = [];
    for (const file of edges.keys()) {
      const lines = fs.readFileSync(path.join(SRC, file), "utf8").split("\n").length - 1;
      const limit = file.startsWith(`engine${path.sep}`) ? 300 : 600;
      if (lines > limit) over.push(`src/${file}: ${lines} lines (limit ${limit})`);
    }
    assert.deepEqual(over, []);
  });
});
