/**
 * What this version of Gantry can execute. `gantry release` refuses, naming the sections,
 * rather than skip a section a runbook relies on; `gantry plan` lists them too.
 * Each later version moves sections into EXECUTABLE as their steps land.
 */
import type { Runbook } from "./runbook/schema/runbook.js";

export const SECTIONS = [
  "gates",
  "preflight",
  "decisions",
  "checklists",
  "backup",
  "migrations",
  "deploy",
  "smoke",
  "integrity",
  "monitor",
  "rollback",
  "notify",
  "schedule",
  "success",
] as const;
export type Section = (typeof SECTIONS)[number];

/** Sections this version executes. Empty: 0.1 validates and plans; execution arrives with the engine. */
export const EXECUTABLE: ReadonlySet<Section> = new Set<Section>();

/** The sections a runbook uses, in plan order. */
export function sectionsUsed(runbook: Runbook): Section[] {
  return SECTIONS.filter((s) => {
    const value = runbook[s];
    if (value === undefined) return false;
    return Array.isArray(value) ? value.length > 0 : true;
  });
}

/** Sections the runbook uses that this version cannot execute. */
export function unsupportedSections(runbook: Runbook): Section[] {
  return sectionsUsed(runbook).filter((s) => !EXECUTABLE.has(s));
}
