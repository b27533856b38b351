/**
 * `npm run build` for the stand-in's app: what `next build` would refuse, checked here — every
 * import of the app resolves (its dependencies are installed) and every module parses; then the
 * build's fingerprint (a digest of the app's sources) is printed, as a build ID.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const app = new URL("../app/", import.meta.url);
const digest = createHash("sha256");
let failures = 0;
const files = fs
  .readdirSync(app)
  .filter((f) => f.endsWith(".mjs"))
  .sort();
for (const name of files) {
  const file = new URL(name, app);
  const text = fs.readFileSync(file, "utf8");
  digest.update(name).update(text);
  for (const [, specifier] of text.matchAll(/^import .* from "([^"]+)";$/gm)) {
    try {
      import.meta.resolve(specifier, file.href);
      if (specifier.startsWith(".")) fs.accessSync(new URL(specifier, file));
    } catch {
      failures++;
      process.stderr.write(`build: ${name}: cannot resolve "${specifier}"\n`);
    }
  }
}
if (failures) process.exit(1);
process.stdout.write(
  `build: ${files.length} modules, build ID ${digest.digest("hex").slice(0, 12)} (${path.basename(app.pathname)})\n`,
);
