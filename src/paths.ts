/** Where Gantry's own files are, whether it runs from dist/src (tsc) or dist/cli (the bundle). */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/** The folder holding Gantry's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "gantry") {
      root = dir;
      return root;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find Gantry's package.json above its own files");
    dir = parent;
  }
}

/** The committed JSON Schema of the runbook format. */
export function schemaFile(): string {
  return join(packageRoot(), "schema", "runbook.v1.json");
}
