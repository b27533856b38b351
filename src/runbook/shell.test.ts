import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { commandPlacementProblems, renderCommand } from "./command-template.js";
import { checkTemplate, type TemplateNames } from "./template.js";

const HOSTILE = [
  "x; touch pwned #",
  "$(touch pwned)",
  "`touch pwned`",
  "a'b\"c\\d",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JavaScript template
  'it\'s "quoted" $HOME ${HOME} `id`',
  "line1\ntouch pwned\nline3",
  "| touch pwned & < > *",
  "'; touch pwned; echo '",
  '"; touch pwned; echo "',
  "\\",
  "",
];

/** Runs a rendered command with /bin/sh in a scratch folder; returns its stdout and whether anything was created. */
function sh(command: string): { out: string; created: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-shell-"));
  try {
    const out = execFileSync("/bin/sh", ["-c", command], {
      cwd: dir,
      encoding: "utf8",
      env: { HOME: "/home" },
    });
    return { out, created: fs.readdirSync(dir) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("renderCommand: every value reaches the command as data", () => {
  for (const value of HOSTILE) {
    it(`outside quotes, inside '…', inside "…", inside $( … ): ${JSON.stringify(value)}`, () => {
      const ctx = { captures: { token: value } };
      for (const [template, expected] of [
        ["printf '%s' {{ captures.token }}", value],
        ["printf '%s' --token={{ captures.token }}", `--token=${value}`],
        ["printf '%s' 'pre-{{ captures.token }}-post'", `pre-${value}-post`],
        ["printf '%s' \"pre-{{ captures.token }}-post\"", `pre-${value}-post`],
        ["printf '%s' \"$(printf '%s' {{ captures.token }})\"", value.replace(/\n+$/, "")],
        ["printf '%s' '{\"t\":\"{{ captures.token }}\"}'", `{"t":"${value}"}`],
      ] as const) {
        const r = sh(renderCommand(template, ctx));
        assert.deepEqual(r.created, [], `${template} created a file`);
        assert.equal(r.out, expected, template);
      }
    });
  }

  it("a value in a comment cannot end the comment", () => {
    const r = sh(renderCommand("true # {{ captures.token }}", { captures: { token: "x\ntouch pwned" } }));
    assert.deepEqual(r.created, []);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JavaScript template
  it("refuses values inside backticks, ${…} and here-documents", () => {
    const ctx = { release: { version: "1" } };
    assert.throws(() => renderCommand("echo `echo {{ release.version }}`", ctx), /backticks/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JavaScript template
    assert.throws(() => renderCommand("echo ${X:-{{ release.version }}}", ctx), /\$\{/);
    assert.throws(() => renderCommand("cat <<EOF\n{{ release.version }}\nEOF", ctx), /here-document/);
    assert.equal(commandPlacementProblems("echo `x {{ a }}`").length, 1);
    assert.equal(commandPlacementProblems("echo $(x {{ a }}) '{{ b }}' \"{{ c }}\"").length, 0);
  });

  it("`| raw` writes env.vars unquoted, and nothing else", () => {
    const ctx = { env: { vars: { flags: "--fast --quiet" } }, release: { version: "1; touch pwned" } };
    assert.equal(renderCommand("run {{ env.vars.flags | raw }}", ctx), "run --fast --quiet");
    // raw on a value that is not the author's is still quoted
    assert.equal(renderCommand("run {{ release.version | raw }}", ctx), "run '1; touch pwned'");
    const names: TemplateNames = {
      secrets: new Set(["t"]),
      captures: new Set(["token"]),
      roles: new Set(),
      signals: new Set(),
      checks: new Set(),
      vars: new Set(["flags"]),
    };
    assert.deepEqual(checkTemplate("run {{ env.vars.flags | raw }}", "command", names), []);
    const refused = checkTemplate("run {{ captures.token | raw }}", "command", names);
    assert.match(refused[0]?.message ?? "", /only env\.vars values may be written unquoted/);
  });
});
