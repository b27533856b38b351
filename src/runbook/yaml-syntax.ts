/**
 * Why js-yaml refused a file, in words a person can act on. The `yaml` package gives more
 * precise syntax errors than js-yaml, but it is about ten times slower and recurses without a
 * limit, so it only explains an error, and only on the part of the file js-yaml read before
 * the error (at most `PRECISE_BYTES`). It is loaded only then: a file without a syntax error
 * does not pay for it.
 */
import { createRequire } from "node:module";
import type jsYaml from "js-yaml";
import type { YamlProblem } from "./yaml-types.js";

/** The most text handed to the `yaml` package to explain a syntax error (about 0.3 s of its time). */
const PRECISE_BYTES = 128 * 1024;

/** Flow collections the `yaml` package may see past the point js-yaml reached. */
const PRECISE_EXTRA_OPENERS = 16;

const DUPLICATE_MESSAGE =
  "duplicate key; each key may appear once in a mapping — merge the two or rename one";
const TAB_MESSAGE = "tab used for indentation; YAML indents with spaces only";

/** Why js-yaml refused the text: the `yaml` package's words when it can say them cheaply, else js-yaml's. */
export function explain(text: string, error: jsYaml.YAMLException, maxDepth: number): YamlProblem[] {
  const mark = error.mark;
  const at = { line: mark.line + 1, col: mark.column + 1 };
  const reason = error.reason;
  if (reason.startsWith("nesting exceeded maxDepth")) {
    const message = `nested more than ${maxDepth} levels deep; a runbook needs far fewer — flatten the lists and mappings here`;
    return [{ ...at, message }];
  }
  if (reason === "duplicated mapping key") return [{ ...at, message: DUPLICATE_MESSAGE }];
  if (reason.startsWith("tab characters must not be used")) return [{ ...at, message: TAB_MESSAGE }];
  // Everything before the error was read by js-yaml within its depth limit; the rest of that
  // line may hold a few more levels. The `yaml` package sees only that much.
  const eol = text.indexOf("\n", mark.position);
  let cut = eol === -1 ? text.length : eol + 1;
  let openers = 0;
  for (let i = mark.position; i < cut; i++) {
    const c = text.charCodeAt(i);
    if ((c === 0x5b || c === 0x7b) && ++openers > PRECISE_EXTRA_OPENERS) {
      cut = i;
      break;
    }
  }
  if (cut <= PRECISE_BYTES) {
    const problems = precise(text.slice(0, cut), cut === text.length);
    if (problems.length > 0) return problems;
  }
  return [{ ...at, message: `not valid YAML: ${reason}` }];
}

/** The `yaml` package's errors for `text`; when it is a prefix, none from where it was cut. */
function precise(text: string, whole: boolean): YamlProblem[] {
  const { LineCounter, parseDocument } = loadYamlPackage();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    // js-yaml already reports duplicate keys; the `yaml` package's check is quadratic.
    uniqueKeys: false,
    prettyErrors: false,
    strict: true,
    logLevel: "error",
  });
  return doc.errors
    .filter((e) => whole || e.pos[0] < text.length)
    .map((e) => ({ ...lineCounter.linePos(e.pos[0]), message: yamlMessage(e.code, e.message) }));
}

function yamlMessage(code: string, message: string): string {
  const first = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  switch (code) {
    case "DUPLICATE_KEY":
      return DUPLICATE_MESSAGE;
    case "TAB_AS_INDENT":
      return TAB_MESSAGE;
    case "BLOCK_AS_IMPLICIT_KEY":
      return `not valid YAML: ${first.replace(/^N/, "n")}. A value with \`: \` in it reads as a mapping: quote the whole value, e.g. description: "Step 1: deploy"`;
    default:
      return `not valid YAML: ${first}`;
  }
}

/** The `yaml` package, loaded on the first syntax error (a plain require, which bundlers leave alone). */
function loadYamlPackage(): typeof import("yaml") {
  return createRequire(import.meta.url)("yaml") as typeof import("yaml");
}
