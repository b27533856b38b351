/** The release record as JSON (`gantry report RUN --format json`): the view model itself, for programs. */
import type { ReleaseRecord } from "./record.js";

export function renderJson(r: ReleaseRecord): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
