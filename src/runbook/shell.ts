/**
 * Where a value lands in a shell command, and how to write it there as data.
 *
 * Commands run with `/bin/sh -c`. A value filled into a command (a version, a ref, a
 * captured token, a secret) must never become shell syntax, wherever the author placed it:
 *
 *   deploy.sh {{ release.version }}              → deploy.sh '1.4.0'
 *   curl -H "Authorization: Bearer {{ secrets.t }}" → the value escaped for double quotes
 *   echo '{"v":"{{ release.version }}"}'         → the value closed into the single quotes
 *
 * `shellContext` reads the command text written before a value (the author's text, never
 * a value) and says which of these the value sits in; `quoteFor` writes the value for it.
 * Places where no quoting is safe (inside backticks, `${…}` or a here-document) are refused.
 */

/** Where a value sits in a command. */
export type ShellContext =
  | "word" // outside quotes (also inside `$( … )`): the value becomes one quoted word
  | "single" // inside '…'
  | "double" // inside "…"
  | "comment" // after `#`: the value must not end the comment
  | { refused: string };

type Frame = "U" | "S" | "D" | "P" | "B" | "BR" | "C";

/** A lexer over the author's text of a command: feed it the literal pieces in order. */
export class ShellLexer {
  private stack: Frame[] = ["U"];
  /** Paren depth inside each `$(`: `(` of a subshell or `case` pattern nests. */
  private depth: number[] = [];
  private heredoc = false;
  private prev = "";

  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      const next = text[i + 1] ?? "";
      const top = this.stack[this.stack.length - 1]!;
      switch (top) {
        case "S":
          if (c === "'") this.stack.pop();
          break;
        case "C":
          if (c === "\n") this.stack.pop();
          break;
        case "D":
          if (c === "\\") i++;
          else if (c === '"') this.stack.pop();
          else if (c === "`") this.stack.push("B");
          else if (c === "$" && next === "(") i += this.open();
          else if (c === "$" && next === "{") i += this.push("BR");
          break;
        case "B":
          if (c === "\\") i++;
          else if (c === "`") this.stack.pop();
          break;
        case "BR":
          if (c === "}") this.stack.pop();
          else if (c === "'") this.stack.push("S");
          else if (c === '"') this.stack.push("D");
          break;
        default: {
          // U or P: command text.
          if (c === "\\") i++;
          else if (c === "'") this.stack.push("S");
          else if (c === '"') this.stack.push("D");
          else if (c === "`") this.stack.push("B");
          else if (c === "$" && next === "(") i += this.open();
          else if (c === "$" && next === "{") i += this.push("BR");
          else if (c === "#" && (this.prev === "" || /[\s;&|()]/.test(this.prev))) this.stack.push("C");
          else if (c === "<" && next === "<" && text[i + 2] !== "<") {
            this.heredoc = true;
            i++;
          } else if (top === "P" && c === "(") this.depth[this.depth.length - 1]!++;
          else if (top === "P" && c === ")") {
            const d = --this.depth[this.depth.length - 1]!;
            if (d === 0) {
              this.depth.pop();
              this.stack.pop();
            }
          }
        }
      }
      this.prev = text[i] ?? c;
    }
  }

  /** Enters `$(` or `${`; returns how many characters beyond the current one it took. */
  private open(): number {
    this.depth.push(1);
    return this.push("P");
  }

  private push(frame: Frame): number {
    this.stack.push(frame);
    return 1;
  }

  /** Where a value written now would sit. */
  context(): ShellContext {
    if (this.heredoc) return { refused: "a value after a here-document (<<) cannot be quoted safely" };
    const top = this.stack[this.stack.length - 1]!;
    if (top === "B")
      return { refused: "a value inside backticks cannot be quoted safely; use $( … ) instead" };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JavaScript template
    if (top === "BR") return { refused: "a value inside ${ … } cannot be quoted safely" };
    if (this.stack.includes("B"))
      return { refused: "a value inside backticks cannot be quoted safely; use $( … ) instead" };
    return { U: "word", P: "word", S: "single", D: "double", C: "comment" }[top] as ShellContext;
  }
}

/** Writes `value` as data for the place it sits in. */
export function quoteFor(context: Exclude<ShellContext, { refused: string }>, value: string): string {
  switch (context) {
    case "word":
      return `'${value.replaceAll("'", `'\\''`)}'`;
    case "single":
      return value.replaceAll("'", `'\\''`);
    case "double":
      return value.replace(/[\\"$`]/g, "\\$&");
    case "comment":
      return value.replace(/[\r\n]+/g, " ");
  }
}

/** POSIX single-quoting of one word, for commands Gantry writes itself. */
export function shellWord(value: string): string {
  return quoteFor("word", value);
}
