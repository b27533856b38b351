/** Paths of the repository, from compiled tests in dist/test/. */
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BIN = `${ROOT}bin/gantry.js`;
export const FIXTURES = `${ROOT}test/fixtures/runbooks/`;
