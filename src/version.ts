/** Gantry's version; also the engine's application version once releases run (see docs/upgrading.md). */
export const VERSION = "0.4.0";
