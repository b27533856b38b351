/**
 * Shell commands from templates: every `{{ … }}` reaches the command as data, written for the
 * place it sits in (shell.ts says where that is), and `| raw` only for text the author wrote.
 */
import { Output, type Template } from "liquidjs";
import { engine, overOutput, renderError, TEMPLATE_LIMITS } from "./liquid.js";
import { quoteFor, ShellLexer } from "./shell.js";

export interface CommandProblem {
  message: string;
}

/**
 * In a command, `| raw` writes a value unquoted. Only text the runbook's author wrote may be
 * written that way (`env.vars.*`, a literal); a version, ref, capture, secret or measured value
 * is always data.
 */
export function rawProblems(text: string): CommandProblem[] {
  if (!/\|\s*raw\b/.test(text)) return [];
  const problems: CommandProblem[] = [];
  try {
    for (const t of engine().parse(text)) {
      if (!isRawOutput(t)) continue;
      for (const v of engine().globalVariableSegmentsSync([t])) {
        if (!authorWritten(v)) {
          const name = v.map((p) => (typeof p === "object" ? "?" : String(p))).join(".");
          problems.push({
            message: `\`${name} | raw\`: only env.vars values may be written unquoted into a command; \`${name}\` always reaches the command as data (drop \`| raw\`)`,
          });
        }
      }
    }
  } catch {
    // a parse error is reported by variablesOf
  }
  return problems;
}

function isRawOutput(t: Template): boolean {
  return t instanceof Output && t.value.filters.at(-1)?.name === "raw";
}

function authorWritten(segments: Array<string | number | object>): boolean {
  return segments[0] === "env" && segments[1] === "vars";
}

/**
 * Renders a shell command: every `{{ … }}` reaches the command as data, written for the
 * place it sits in (one quoted word outside quotes, escaped inside '…' or "…"; see
 * shell.ts). `{{ env.vars.x | raw }}` writes text the author wrote unquoted. A value in a
 * place no quoting makes safe (backticks, `${…}`, a here-document) is an error.
 */
export function renderCommand(text: string, context: Record<string, unknown>): string {
  if (!text.includes("{{") && !text.includes("{%")) return text;
  const liquid = engine();
  let parts: Template[];
  try {
    parts = liquid.parse(text);
  } catch (e) {
    throw renderError(e);
  }
  const lexer = new ShellLexer();
  let out = "";
  for (const part of parts) {
    if (!(part instanceof Output)) {
      const literal = literalText(part);
      lexer.feed(literal);
      out += literal;
      continue;
    }
    let value: string;
    try {
      value = liquid.renderSync([part], context) as string;
    } catch (e) {
      throw renderError(e);
    }
    if (isRawOutput(part) && liquid.globalVariableSegmentsSync([part]).every(authorWritten)) {
      lexer.feed(value);
      out += value;
    } else {
      const where = lexer.context();
      if (typeof where === "object") throw new Error(`${where.refused}: ${part.token.getText()}`);
      out += quoteFor(where, value);
    }
    if (out.length > TEMPLATE_LIMITS.outputChars) throw new Error(overOutput(out.length));
  }
  return out;
}

/** The author's text between outputs; a command holds no tags (validation refuses them). */
function literalText(part: Template): string {
  const literal = (part as { str?: unknown }).str;
  if (typeof literal !== "string") throw new Error("tags (`{% … %}`) cannot be used in commands");
  return literal;
}

/** Where a command's `{{ … }}` cannot be quoted safely (backticks, `${…}`, here-documents), for validation. */
export function commandPlacementProblems(text: string): CommandProblem[] {
  if (!text.includes("{{")) return [];
  let parts: Template[];
  try {
    parts = engine().parse(text);
  } catch {
    return [];
  }
  const lexer = new ShellLexer();
  const problems: CommandProblem[] = [];
  for (const part of parts) {
    if (!(part instanceof Output)) {
      const literal = (part as { str?: unknown }).str;
      if (typeof literal !== "string") return problems; // a tag: checkTemplate says tags are not allowed here
      lexer.feed(literal);
      continue;
    }
    const where = lexer.context();
    if (typeof where === "object") problems.push({ message: `${where.refused}: ${part.token.getText()}` });
  }
  return problems;
}
