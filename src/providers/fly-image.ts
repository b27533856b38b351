/**
 * The fly provider's images: the image of a release from the runbook's template, and the
 * version a Machine runs, read back from its config.
 *
 * The image template is filled as plain text (options.text): registry.fly.io/shop:1.4.2.
 *
 * A Machine's version: the `gantry_version` Gantry wrote into its metadata, when the image
 * beside it (`gantry_image`) is still the one configured; else the version the template puts
 * where the image has it (registry.fly.io/shop:1.4.2 → 1.4.2), for Machines deployed by other
 * means; else unknown.
 */
import type { FlyMachine } from "./fly-api.js";

export const META_KEY = "gantry_key";
export const META_VERSION = "gantry_version";
export const META_IMAGE = "gantry_image";

type Render = (template: string, values: { version: string; previousVersion?: string }) => string;

/** Stands in for the version to find where the template puts it. */
const SENTINEL = "gantryversionsentinel0";

export function defaultImage(app: string): string {
  return `registry.fly.io/${app}:{{ release.version }}`;
}

/** The image of `version`: the template filled, one word. Throws a message naming deploy.image. */
export function renderImage(render: Render, template: string, version: string): string {
  let word: string;
  try {
    word = render(template, { version }).trim();
  } catch (e) {
    throw new Error(`deploy.image: ${(e as Error).message}`);
  }
  if (word === "" || /\s/.test(word)) {
    throw new Error(`deploy.image: ${JSON.stringify(word)} is not an image reference`);
  }
  return word;
}

/** What the template puts around the version: [before, after], or undefined when it cannot tell. */
export function templateFrame(render: Render, template: string): [string, string] | undefined {
  let image: string;
  try {
    image = renderImage(render, template, SENTINEL);
  } catch {
    return undefined;
  }
  const parts = image.split(SENTINEL);
  return parts.length === 2 ? [parts[0]!, parts[1]!] : undefined;
}

/** A Docker tag's characters: what a version read out of an image may be made of. */
const TAG = /^[\w][\w.+-]{0,127}$/;

export function machineVersion(m: FlyMachine, frame: [string, string] | undefined): string | undefined {
  const meta = m.config.metadata ?? {};
  const recorded = meta[META_VERSION];
  if (recorded && meta[META_IMAGE] === m.config.image) return recorded;
  return imageVersion(m.config.image, frame);
}

export function imageVersion(image: string, frame: [string, string] | undefined): string | undefined {
  if (!frame) return undefined;
  const [before, after] = frame;
  if (!image.startsWith(before) || !image.endsWith(after) || image.length <= before.length + after.length)
    return undefined;
  const middle = image.slice(before.length, image.length - after.length);
  return TAG.test(middle) ? middle : undefined;
}
