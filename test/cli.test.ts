/** The CLI as a user meets it: exit codes, messages, JSON, and what it refuses. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES, ROOT } from "./helpers/paths.js";
import { gantry } from "./helpers/run.js";

const tmp = () => mkdtempSync(join(tmpdir(), "gantry-cli-"));
const SEED_002 = "examples/seeds/002-replit-neon-stripe/runbook.yaml";

describe("gantry validate", () => {
  it("exits 0 for valid files and 1 when any is invalid, reporting each", () => {
    const ok = gantry(["validate", `${FIXTURES}valid-minimal.yaml`, `${FIXTURES}valid-full.yaml`]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const mixed = gantry([
      "validate",
      `${FIXTURES}valid-minimal.yaml`,
      `${FIXTURES}invalid-misspelled-key.yaml`,
    ]);
    assert.equal(mixed.code, 1);
    assert.match(mixed.stdout, /valid-minimal\.yaml: valid/);
    assert.match(
      mixed.stdout,
      /invalid-misspelled-key\.yaml:14:1: error: gatse: unknown key `gatse`; did you mean `gates`\?/,
    );
  });

  it("names line, column and suggestion for a misspelled key in a seed runbook", () => {
    const dir = tmp();
    const text = readFileSync(join(ROOT, SEED_002), "utf8");
    const lines = text.split("\n");
    const index = lines.findIndex((l) => l.startsWith("smoke:"));
    lines[index] = "smoek:";
    const file = join(dir, "runbook.yaml");
    writeFileSync(file, lines.join("\n"));
    const r = gantry(["validate", file]);
    assert.equal(r.code, 1);
    assert.ok(
      r.stdout.includes(
        `${file}:${index + 1}:1: error: smoek: unknown key \`smoek\`; did you mean \`smoke\`?`,
      ),
      r.stdout,
    );
  });

  it("reports a schema error and a rule error of one file in one run, and nothing that follows from them", () => {
    const dir = tmp();
    const lines = readFileSync(join(ROOT, "examples/quickstart/runbook.yaml"), "utf8").split("\n");
    const gates = lines.indexOf("gates:");
    const when = lines.indexOf("      when: error_rate > 0.05");
    assert.ok(gates > 0 && when > 0, "the quickstart runbook changed; update this test");
    lines[gates] = "gatse:";
    lines[when] = "      when: eror_rate > 0.05";
    const file = join(dir, "runbook.yaml");
    writeFileSync(file, lines.join("\n"));
    const r = gantry(["validate", file]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split("\n"), [
      `${file}:${gates + 1}:1: error: gatse: unknown key \`gatse\`; did you mean \`gates\`?`,
      `${file}:${when + 1}:13: error: monitor.rules[0].when: unknown signal \`eror_rate\`; did you mean \`error_rate\`?`,
      `${file}: invalid, 2 errors`,
    ]);
  });

  it("prints a machine-readable result with --json", () => {
    const r = gantry([
      "validate",
      "--json",
      `${FIXTURES}invalid-bad-duration.yaml`,
      `${FIXTURES}valid-minimal.yaml`,
    ]);
    assert.equal(r.code, 1);
    const result = JSON.parse(r.stdout);
    assert.equal(result.valid, false);
    assert.equal(result.files.length, 2);
    assert.deepEqual(result.files[0].diagnostics[0], {
      severity: "error",
      file: `${FIXTURES}invalid-bad-duration.yaml`,
      line: 17,
      col: 14,
      path: "gates[0].timeout",
      message:
        "bad duration `5 min`: write a whole number and a unit (ms, s, m, h, d, w), e.g. 90s, 5m, 1h30m, 2d. did you mean `5m`?",
    });
    assert.equal(result.files[1].valid, true);
  });

  it("exits 2 on usage errors", () => {
    assert.equal(gantry(["validate"]).code, 2);
    assert.equal(gantry(["validate", "--nope", "x.yaml"]).code, 2);
    const typo = gantry(["valdate", "x.yaml"]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /Did you mean validate\?/);
  });
});

describe("bad input gets a clear error, never a stack trace", () => {
  const dir = tmp();
  const cases: Array<[string, () => string, RegExp]> = [
    ["missing file", () => join(dir, "nope.yaml"), /nope\.yaml: error: file not found/],
    ["directory", () => dir, /error: is a directory/],
    [
      "binary file",
      () => {
        const f = join(dir, "bin.yaml");
        writeFileSync(f, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02]));
        return f;
      },
      /error: binary file \(NUL byte at offset 4\)/,
    ],
    [
      "10 MB file",
      () => {
        const f = join(dir, "big.yaml");
        writeFileSync(f, `# ${"x".repeat(10 * 1024 * 1024)}\n`);
        return f;
      },
      /error: file is 10\.0 MB; a runbook may be at most 2 MB/,
    ],
    [
      "not YAML",
      () => {
        const f = join(dir, "text.yaml");
        writeFileSync(f, "key: [unclosed\n  - nested: {\n");
        return f;
      },
      /text\.yaml:\d+:\d+: error: not valid YAML/,
    ],
    [
      "not a mapping",
      () => {
        const f = join(dir, "prose.yaml");
        writeFileSync(f, "Just some prose, not a runbook.\n");
        return f;
      },
      /prose\.yaml:1:1: error: the file is a single value, not a runbook/,
    ],
    ["alias bomb", () => `${FIXTURES}invalid-alias-bomb.yaml`, /error: too many aliases/],
    ["duplicate keys", () => `${FIXTURES}invalid-duplicate-key.yaml`, /:14:1: error: duplicate key/],
    ["tabs", () => `${FIXTURES}invalid-tab-indent.yaml`, /:5:1: error: tab used for indentation/],
  ];
  for (const [name, make, expected] of cases) {
    it(name, () => {
      const r = gantry(["validate", make()]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, expected);
      assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at .+:\d+:\d+/, "no stack trace");
    });
  }
});

describe("gantry plan", () => {
  it("prints phases, the timeline in wall-clock time and the window", () => {
    const r = gantry([
      "plan",
      SEED_002,
      "--env",
      "production",
      "--ref",
      "v2.0.0",
      "--at",
      "2025-10-07T10:10:00-04:00",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Plan: rur2 2\.0\.0 → production/);
    assert.match(r.stdout, /Window: open at 2025-10-07T10:10:00-04:00/);
    assert.match(r.stdout, /T\+15m\s+2025-10-07T10:25:00-04:00/);
    // The schedule runs too: every part of the seed is executable.
    assert.doesNotMatch(r.stdout, /Not executable/);
    assert.match(r.stdout, /T-7d\s+2025-09-30T10:10:00-04:00\s+Release branch creation/);
  });

  it("says when a closed window next opens", () => {
    const r = gantry([
      "plan",
      SEED_002,
      "--env",
      "production",
      "--ref",
      "v2.0.0",
      "--at",
      "2025-10-10T10:00:00-04:00",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Window: closed at 2025-10-10T10:00:00-04:00/);
    assert.match(r.stdout, /next opens 2025-10-14T10:00:00-04:00/);
  });

  it("gives JSON that matches the text plan", () => {
    const r = gantry([
      "plan",
      `${FIXTURES}valid-full.yaml`,
      "--env",
      "production",
      "--ref",
      "v1.4.0",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.deepEqual(
      plan.phases.map((p: { name: string }) => p.name),
      [
        "schedule",
        "window",
        "gates",
        "preflight",
        "backup",
        "migrations",
        "deploy",
        "smoke",
        "integrity",
        "monitor",
        "follow-up",
      ],
    );
    assert.equal(plan.ref.version, "1.4.0");
    assert.deepEqual(
      plan.timeline.map((e: { at: string }) => e.at),
      ["T-7d", "T+0", "T+15m", "T+30m", "T+60m", "T+120m", "T+1d", "T+48h"],
    );
  });

  it("exits 1 with the reason when the ref is refused", () => {
    const r = gantry(["plan", `${FIXTURES}valid-full.yaml`, "--env", "production", "--ref", "v1.4.0-rc.1"]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Plan: shop v1\.4\.0-rc\.1 \(refused\) → production/);
    assert.match(r.stdout, /Blocked: `v1\.4\.0-rc\.1` is a release candidate/);
  });

  it("exits 2 for an unknown environment or time, with a suggestion", () => {
    const env = gantry(["plan", `${FIXTURES}valid-full.yaml`, "--env", "prod"]);
    assert.equal(env.code, 2);
    assert.match(env.stderr, /unknown environment `prod`; did you mean `production`\?/);
    const at = gantry(["plan", `${FIXTURES}valid-full.yaml`, "--env", "production", "--at", "tomorrow"]);
    assert.equal(at.code, 2);
    assert.match(at.stderr, /--at: cannot read `tomorrow`/);
  });

  it("exits 1 and shows the errors for an invalid runbook", () => {
    const r = gantry(["plan", `${FIXTURES}invalid-unknown-check.yaml`, "--env", "production"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: preflight\[0\]\.check: unknown check `helth`; did you mean `health`\?/);
  });
});

describe("gantry init", () => {
  it("writes a starter runbook that validates and plans, and never overwrites silently", () => {
    const dir = tmp();
    const file = join(dir, "runbook.yaml");
    const r = gantry(["init", file, "--service", "billing"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(file, "utf8"), /^# yaml-language-server: \$schema=.*schema\/runbook\.v1\.json/);
    assert.equal(gantry(["validate", file]).code, 0);
    const planned = gantry(["plan", file, "--env", "production", "--ref", "v1.0.0"]);
    assert.equal(planned.code, 0);
    // `gantry release` accepts it: nothing in it is outside what this version executes.
    assert.doesNotMatch(planned.stdout, /Not executable/);
    const again = gantry(["init", file]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; pass --force/);
    assert.equal(gantry(["init", file, "--force"]).code, 0);
  });
});

describe("gantry release", () => {
  it("refuses plainly, naming every section it cannot execute, and runs nothing", () => {
    const r = gantry([
      "release",
      `${FIXTURES}valid-full.yaml`,
      "--env",
      "production",
      "--ref",
      "v1.4.0",
      "--json",
    ]);
    assert.equal(r.code, 3);
    const result = JSON.parse(r.stdout);
    assert.equal(result.outcome, "not_executed");
    assert.deepEqual(result.notExecutable, [
      "deploy.canary (provider command cannot shift traffic: add a `shift` command that sends {{ canary.weight }} percent of traffic)",
    ]);
    const text = gantry(["release", `${FIXTURES}valid-full.yaml`, "--env", "production", "--ref", "v1.4.0"]);
    assert.equal(text.code, 3);
    assert.match(
      text.stderr,
      /cannot execute these parts of .*valid-full\.yaml yet: deploy\.canary \(provider command cannot shift traffic: .*\)\. Nothing was run\./,
    );
  });
});

describe("gantry --help and schema", () => {
  it("lists the verbs", () => {
    const r = gantry(["--help"]);
    assert.equal(r.code, 0);
    for (const verb of ["validate", "plan", "init", "release", "schema"])
      assert.match(r.stdout, new RegExp(`\\b${verb}\\b`));
  });
  it("prints the committed JSON Schema", () => {
    const r = gantry(["schema"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, readFileSync(join(ROOT, "schema/runbook.v1.json"), "utf8"));
  });
});

describe("secrets stay out of output", () => {
  it("never prints a secret written into the runbook by mistake", () => {
    const dir = tmp();
    const leaked = ["hunter2-Secret-9f8e7d6c", "sk_live_51HxYzAbCdEf0123456789"];
    const head = "apiVersion: gantry/v1\nmetadata: { name: t, service: web }\n";
    const deploy = "deploy: { provider: command, deploy: ./deploy.sh, rollback: ./rollback.sh }\n";
    const invalid = join(dir, "invalid.yaml");
    writeFileSync(
      invalid,
      `${head}secrets:\n  stripe: ${leaked[1]}\nenvironments:\n  production: {}\n${deploy}`,
    );
    const warned = join(dir, "warned.yaml");
    writeFileSync(
      warned,
      `${head}environments:\n  production:\n    database: { url: "postgres://app:${leaked[0]}@db.internal/app" }\n${deploy}`,
    );
    const runs = [
      gantry(["validate", invalid]),
      gantry(["validate", "--json", invalid]),
      gantry(["plan", invalid, "--env", "production"]),
      gantry(["validate", warned]),
      gantry(["validate", "--json", warned]),
      gantry(["plan", warned, "--env", "production", "--json"]),
    ];
    for (const r of runs) {
      for (const secret of leaked)
        assert.ok(!(r.stdout + r.stderr).includes(secret), `${secret} leaked:\n${r.stdout}${r.stderr}`);
    }
    assert.equal(runs[0]!.code, 1);
    assert.match(runs[0]!.stdout, /secrets\.stripe: not a secret reference/);
    assert.equal(runs[3]!.code, 0);
    assert.match(
      runs[3]!.stdout,
      /environments\.production\.database\.url: this looks like a secret written into the runbook \(the URL carries a password\)/,
    );
  });
});
