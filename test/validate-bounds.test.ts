/**
 * Bounded validation (issue 10, item 6), through the binary: a hostile file under the 2 MB
 * limit gets the first 200 diagnostics in file order and "and N more", in text and JSON, for
 * `validate` and `plan`; nesting past the depth limit gets one clear error, never a stack
 * overflow. The 30 s timeout of the `gantry` helper is a hang guard only: no timing is asserted.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { HOSTILE_HEAD, HOSTILE_SIZE, repeatUnits } from "./helpers/hostile.js";
import { gantry } from "./helpers/run.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-bounds-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const SIZE = HOSTILE_SIZE;
const HEAD = HOSTILE_HEAD;
const HEAD_LINES = HEAD.split("\n").length - 1;

/** Writes `head` then `unit(i)` for i = 0, 1, … up to `size` bytes; returns the path and the count of units. */
function write(name: string, head: string, unit: (i: number) => string, tail = "", size = SIZE) {
  const { text, count } = repeatUnits(head, unit, tail, size);
  const file = join(dir, name);
  writeFileSync(file, text);
  return { file, count };
}

const DIAGNOSTIC = /^(.+):(\d+):(\d+): (error|warning): /;

/** The diagnostic lines of `validate`'s output, then the lines after them. */
function split(stdout: string): { diagnostics: string[]; rest: string[] } {
  const lines = stdout.trimEnd().split("\n");
  const diagnostics = lines.filter((l) => DIAGNOSTIC.test(l));
  return { diagnostics, rest: lines.slice(diagnostics.length) };
}

/** Lines and columns never go backwards: the list is in file order. */
function assertFileOrder(lines: string[]): void {
  let last = [0, 0];
  for (const l of lines) {
    const [, , line, col] = DIAGNOSTIC.exec(l)!;
    const here = [Number(line), Number(col)];
    assert.ok(here[0]! > last[0]! || (here[0] === last[0] && here[1]! >= last[1]!), `out of order: ${l}`);
    last = here;
  }
}

function assertNoStackTrace(text: string): void {
  assert.doesNotMatch(text, /Maximum call stack|RangeError|\n\s+at .+:\d+:\d+/);
}

describe("capped diagnostics", () => {
  const gates = write(
    "unquoted-gates.yaml",
    `${HEAD}gates:\n`,
    () => "  - name: x\n    run: {{ release.version }}\n",
  );

  it("lists the first 200 in file order, then `and N more`, and counts them all", () => {
    const r = gantry(["validate", gates.file]);
    assert.equal(r.code, 1, r.stderr);
    assertNoStackTrace(r.stdout + r.stderr);
    const { diagnostics, rest } = split(r.stdout);
    assert.equal(diagnostics.length, 200);
    assertFileOrder(diagnostics);
    // gates[i].run is on line HEAD_LINES + 3 + 2i, its value at column 10.
    assert.equal(
      diagnostics[0],
      `${gates.file}:${HEAD_LINES + 3}:10: error: gates[0].run: unquoted template: YAML reads \`{{ release.version }}\` as a mapping; quote the whole value: "{{ release.version }}"`,
    );
    assert.ok(
      diagnostics[199]!.startsWith(`${gates.file}:${HEAD_LINES + 3 + 2 * 199}:10: error: gates[199].run:`),
    );
    assert.deepEqual(rest, [
      `${gates.file}: and ${gates.count - 200} more`,
      `${gates.file}: invalid, ${gates.count} errors`,
    ]);
  });

  it("--json lists 200 and counts the rest in `omitted`", () => {
    const r = gantry(["validate", "--json", gates.file]);
    assert.equal(r.code, 1, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.valid, false);
    const [file] = result.files;
    assert.equal(file.diagnostics.length, 200);
    assert.equal(file.errors, gates.count);
    assert.equal(file.warnings, 0);
    assert.equal(file.omitted, gates.count - 200);
    assert.equal(file.complete, true);
    assert.deepEqual(Object.keys(file.diagnostics[0]), [
      "severity",
      "file",
      "line",
      "col",
      "path",
      "message",
    ]);
    assert.equal(file.diagnostics[0].path, "gates[0].run");
  });

  it("plan shows the same capped list on stderr", () => {
    const r = gantry(["plan", gates.file, "--env", "production"]);
    assert.equal(r.code, 1, r.stderr);
    assertNoStackTrace(r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.filter((l) => DIAGNOSTIC.test(l)).length, 200);
    assert.ok(lines.includes(`${gates.file}: and ${gates.count - 200} more`), r.stderr.slice(-500));
    assert.match(lines[lines.length - 1]!, /invalid; fix the errors above/);
  });

  const verbs: Array<[string, string[]]> = [
    ["check", ["check", gates.file, "--env", "production"]],
    ["migrations lint", ["migrations", "lint", gates.file]],
  ];
  for (const [verb, args] of verbs) {
    it(`${verb} shows the same capped list on stderr, and how many more`, () => {
      const r = gantry(args);
      assert.equal(r.code, 1, r.stderr);
      assertNoStackTrace(r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      const diagnostics = lines.filter((l) => DIAGNOSTIC.test(l));
      assert.equal(diagnostics.length, 200);
      assertFileOrder(diagnostics);
      assert.deepEqual(lines.slice(200), [
        `${gates.file}: and ${gates.count - 200} more`,
        `${gates.file}: invalid; fix the errors above (gantry validate ${gates.file})`,
      ]);
    });
  }

  const shapes: Array<[string, () => { file: string; count: number }, RegExp]> = [
    [
      "a list of `{{ a }}` lines",
      () => write("unquoted-list.yaml", `${HEAD}gates:\n`, () => "  - {{ a }}\n"),
      /: error: gates\[0\]: unquoted template: YAML reads `\{\{ a \}\}` as a mapping/,
    ],
    [
      "one flow list of `{{ a }}`",
      () => write("unquoted-flow.yaml", `${HEAD}gates: [`, () => "{{ a }}, ", "]\n"),
      /: error: gates\[0\]: unquoted template/,
    ],
    [
      "top-level keys with `{{ a }}` values",
      () => write("unquoted-keys.yaml", HEAD, (i) => `k${i}: {{ a }}\n`),
      /: error: k0: unquoted template/,
    ],
  ];
  for (const [name, make, first] of shapes) {
    it(`${name}: 200 listed, the rest counted`, () => {
      const { file, count } = make();
      const r = gantry(["validate", file]);
      assert.equal(r.code, 1, r.stderr);
      assertNoStackTrace(r.stdout + r.stderr);
      const { diagnostics, rest } = split(r.stdout);
      assert.equal(diagnostics.length, 200);
      assertFileOrder(diagnostics);
      assert.match(diagnostics[0]!, first);
      assert.deepEqual(rest, [`${file}: and ${count - 200} more`, `${file}: invalid, ${count} errors`]);
    });
  }

  it("schema errors by the million: 200 listed, and validation says where it stopped counting", () => {
    const { file } = write("numbers.yaml", `${HEAD}gates: [`, () => "1,", "1]\n");
    const text = gantry(["validate", file]);
    assert.equal(text.code, 1, text.stderr);
    const { diagnostics, rest } = split(text.stdout);
    assert.equal(diagnostics.length, 200);
    assertFileOrder(diagnostics);
    assert.match(diagnostics[0]!, /:\d+:9: error: gates\[0\]: expected a mapping, got number 1$/);
    assert.match(diagnostics[199]!, /: error: gates\[199\]: /);
    assert.equal(rest.length, 2);
    const more = Number(/: and (\d+) more$/.exec(rest[0]!)?.[1]);
    const total = Number(
      /: invalid, at least (\d+) errors \(validation stops looking after 10000 problems/.exec(rest[1]!)?.[1],
    );
    assert.ok(total >= 10_000, rest[1]);
    assert.equal(more, total - 200);
    const json = JSON.parse(gantry(["validate", "--json", file]).stdout).files[0];
    assert.equal(json.diagnostics.length, 200);
    assert.equal(json.omitted, json.errors - 200);
    assert.equal(json.complete, false);
  });

  it("a runbook with a few mistakes is listed whole, with `omitted: 0`", () => {
    const { file } = write(
      "few.yaml",
      `${HEAD}gates:\n`,
      (i) => `  - { name: g${i}, run: "{{ release.verson }}" }\n`,
      "",
      HEAD.length + 400,
    );
    const r = JSON.parse(gantry(["validate", "--json", file]).stdout).files[0];
    assert.ok(r.errors > 0 && r.errors < 200);
    assert.equal(r.diagnostics.length, r.errors);
    assert.equal(r.omitted, 0);
    assert.equal(r.complete, true);
  });
});

describe("deep nesting", () => {
  const DEPTH = /^(.+):(\d+):(\d+): error: nested more than 64 levels deep; a runbook needs far fewer/;
  const cases: Array<[string, string]> = [
    ["10,000 nested lists", `${HEAD}gates: ${"[".repeat(10_000)}${"]".repeat(10_000)}\n`],
    ["10,000 nested flow mappings", `${HEAD}x: ${"{a: ".repeat(10_000)}1${"}".repeat(10_000)}\n`],
    ["1,500 nested block mappings", Array.from({ length: 1500 }, (_, i) => `${" ".repeat(i)}a:\n`).join("")],
    ["10,000 nested block lists on one line", `${HEAD}gates:\n  ${"- ".repeat(10_000)}x\n`],
    [
      "a syntax error, then 10,000 nested lists",
      `${HEAD}broken: [a, b\n  c: d\ngates: ${"[".repeat(10_000)}${"]".repeat(10_000)}\n`,
    ],
  ];
  for (const [name, text] of cases) {
    it(`${name}: one clear error with line and column`, () => {
      const file = join(dir, `${name.replace(/\W+/g, "-")}.yaml`);
      writeFileSync(file, text);
      const r = gantry(["validate", file]);
      assert.equal(r.code, 1, r.stderr);
      assertNoStackTrace(r.stdout + r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 2, r.stdout);
      if (name.startsWith("a syntax error")) assert.match(lines[0]!, /:\d+:\d+: error: not valid YAML: /);
      else assert.match(lines[0]!, DEPTH);
      assert.equal(lines[1], `${file}: invalid, 1 error`);
    });
  }

  it("60 levels are read (the schema then has its say)", () => {
    const file = join(dir, "sixty.yaml");
    writeFileSync(file, `${HEAD}gates: ${"[".repeat(59)}1${"]".repeat(59)}\n`);
    const r = gantry(["validate", file]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stdout, /nested more than/);
    assert.match(r.stdout, /: error: gates\[0\]: expected a mapping, got a list/);
  });

  it("an alias inside the list it names is refused, not followed forever", () => {
    const file = join(dir, "cycle.yaml");
    writeFileSync(file, `${HEAD}gates: &loop [*loop]\n`);
    const r = gantry(["validate", file]);
    assert.equal(r.code, 1, r.stderr);
    assertNoStackTrace(r.stdout + r.stderr);
    assert.match(r.stdout, /:1:1: error: an alias refers to the list or mapping it is in/);
  });
});
