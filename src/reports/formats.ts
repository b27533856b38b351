/** The formats of `gantry report`, each a renderer of the same release record. */
import { renderHtml } from "./html.js";
import { renderJson } from "./json.js";
import { renderJunit } from "./junit.js";
import { renderMarkdown } from "./markdown.js";
import type { ReleaseRecord } from "./record.js";

export const FORMATS = {
  md: renderMarkdown,
  html: renderHtml,
  json: renderJson,
  junit: renderJunit,
} as const satisfies Record<string, (r: ReleaseRecord) => string>;

export type Format = keyof typeof FORMATS;

export function isFormat(name: string): name is Format {
  return Object.hasOwn(FORMATS, name);
}
