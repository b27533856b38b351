/** Gantry's version; also the engine's application version once releases run (see docs/engine.md, "Engine versions"). */
export const VERSION = "0.7.0";
