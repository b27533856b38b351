#!/usr/bin/env node
/**
 * `npm run typecheck`: the TypeScript compiler (the repository's) over the tests and the e2e
 * specs, strict, without emitting; `@playwright/test` is typed by the stand-in's runner
 * (standin/tools/playwright-test.d.ts).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const files = ts.sys
  .readDirectory(root, [".ts"], ["standin", "node_modules"], ["__tests__/**/*", "e2e/**/*"])
  .filter((f) => !f.endsWith(".d.ts"));
const program = ts.createProgram(files, {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  types: ["node"],
  typeRoots: [path.join(root, "..", "..", "..", "node_modules", "@types")],
  skipLibCheck: true,
  baseUrl: root,
  paths: { "@playwright/test": ["standin/tools/playwright-test.d.ts"] },
});
const diagnostics = ts.getPreEmitDiagnostics(program);
const host = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => root,
  getNewLine: () => "\n",
};
if (diagnostics.length) {
  console.error(ts.formatDiagnostics(diagnostics, host));
  process.exit(1);
}
console.log(`typecheck: ${files.length} files, no errors`);
