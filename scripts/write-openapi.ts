/**
 * `npm run openapi`: regenerate docs/openapi.json from the routes' schemas. The API is built
 * without a database: no request is made, so nothing behind the routes is reached.
 */
import fs from "node:fs";
import path from "node:path";
import type { Control } from "../src/engine/control.js";
import { packageRoot } from "../src/paths.js";
import { buildApi } from "../src/server/server.js";
import type { EventHub } from "../src/server/stream.js";

const app = await buildApi({} as Control, {} as EventHub);
const file = path.join(packageRoot(), "docs", "openapi.json");
fs.writeFileSync(file, `${JSON.stringify(app.swagger(), null, 2)}\n`);
await app.close();
process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
