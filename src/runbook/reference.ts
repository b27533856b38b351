/**
 * docs/runbook-reference.md, generated from the same declaration as the JSON Schema:
 * every key with its type, default and description. `npm run schema` rewrites it and a
 * test fails when it is stale.
 */
import { runbookJsonSchema } from "./json-schema.js";
import { TEMPLATE_ROOTS } from "./template.js";

type Json = Record<string, unknown>;

export function runbookReference(): string {
  const root = runbookJsonSchema();
  const defs = (root.$defs ?? {}) as Record<string, Json>;
  const resolve = (schema: Json): Json => {
    let current = schema;
    while (typeof current.$ref === "string") {
      const { $ref, ...rest } = current;
      current = { ...defs[($ref as string).split("/").pop()!], ...rest };
    }
    return current;
  };
  const sections: string[] = [];
  const seen = new Set<string>();

  const describeType = (input: Json): string => {
    const s = resolve(input);
    if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
    if (Array.isArray(s.enum)) return s.enum.map((v) => `\`${v}\``).join(" \\| ");
    const options = (s.anyOf ?? s.oneOf) as Json[] | undefined;
    if (options) return [...new Set(options.map(describeType))].join(" or ");
    if (s.type === "array") return `list of ${describeType((s.items ?? {}) as Json)}`;
    if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object") {
      return `map of ${describeType(s.additionalProperties as Json)}`;
    }
    if (s.type === "object") return "mapping";
    if (s.type === "integer") return "whole number";
    return typeof s.type === "string" ? s.type : "any";
  };

  const visit = (path: string, input: Json, title?: string): void => {
    const s = resolve(input);
    const options = (s.anyOf ?? s.oneOf) as Json[] | undefined;
    if (options) {
      for (const option of options) {
        const o = resolve(option);
        const props = (o.properties ?? {}) as Record<string, Json>;
        const tag = Object.entries(props).find(([, p]) => resolve(p).const !== undefined);
        const label = tag ? `${tag[0]}: ${resolve(tag[1]).const}` : undefined;
        visit(path, option, label ?? title);
      }
      return;
    }
    if (s.type === "array") {
      visit(`${path}[]`, (s.items ?? {}) as Json, title);
      return;
    }
    if (s.type !== "object") return;
    if (!s.properties && s.additionalProperties && typeof s.additionalProperties === "object") {
      visit(`${path}.<name>`, s.additionalProperties as Json, title);
      return;
    }
    const props = (s.properties ?? {}) as Record<string, Json>;
    const heading = `${path || "(top level)"}${title ? ` (${title})` : ""}`;
    if (seen.has(heading) || Object.keys(props).length === 0) return;
    seen.add(heading);
    const required = new Set((s.required ?? []) as string[]);
    const rows = Object.entries(props).map(([key, value]) => {
      const v = resolve(value);
      const def = v.default === undefined ? "" : `\`${JSON.stringify(v.default)}\``;
      const desc = String(v.description ?? "")
        .replace(/\|/g, "\\|")
        .replace(/\n/g, " ");
      return `| \`${key}\`${required.has(key) ? " (required)" : ""} | ${describeType(value)} | ${def} | ${desc} |`;
    });
    const intro = s.description ? `${String(s.description)}\n\n` : "";
    sections.push(
      `### ${heading}\n\n${intro}| key | type | default | description |\n|---|---|---|---|\n${rows.join("\n")}\n`,
    );
    for (const [key, value] of Object.entries(props)) visit(path ? `${path}.${key}` : key, value);
  };

  visit("", root);
  const variables = Object.entries(TEMPLATE_ROOTS)
    .map(([name, r]) => `| \`${name}\` | ${r.doc} | ${r.scopes.join(", ")} |`)
    .join("\n");
  return `# Runbook reference (format gantry/v1)

Generated from the declaration in \`src/runbook/schema/\` by \`npm run schema\`; do not edit by hand.
The guide is [runbook.md](runbook.md). Editors can use [schema/runbook.v1.json](../schema/runbook.v1.json).

## Template variables

| variable | what | where it may be used |
|---|---|---|
${variables}

## Keys

${sections.join("\n")}`;
}
