/** `gantry init [FILE]`: write a commented starter runbook that validates. */
import { existsSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { EXIT, ExitError, UsageError } from "../errors.js";
import { schemaFile } from "../paths.js";
import { loadRunbookText } from "../runbook/load.js";
import { err, out } from "./output.js";

export interface InitOptions {
  service: string;
  force?: boolean;
}

export function init(file: string, options: InitOptions): void {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(options.service)) {
    throw new UsageError(
      `--service: \`${options.service}\` is not a valid name; use letters, digits, '.', '_' and '-'`,
    );
  }
  if (existsSync(file) && !options.force) {
    throw new UsageError(`${file} already exists; pass --force to overwrite it, or give another path`);
  }
  const schemaPath = relative(dirname(resolve(file)), schemaFile());
  const text = starterRunbook(options.service, schemaPath);
  const check = loadRunbookText(text, file);
  if (!check.runbook)
    throw new Error(`the starter runbook does not validate: ${check.diagnostics[0]?.message}`);
  try {
    writeFileSync(file, text);
  } catch (error) {
    err(`gantry: cannot write ${file}: ${(error as Error).message}`);
    throw new ExitError(EXIT.invalid);
  }
  out(`wrote ${file}; next: gantry validate ${file} && gantry plan ${file} --env production --ref v1.0.0`);
}

export function starterRunbook(service: string, schemaPath: string): string {
  return `# yaml-language-server: $schema=${schemaPath}
# A Gantry release runbook. Reference: docs/runbook.md. Check it with: gantry validate ${"<this file>"}
apiVersion: gantry/v1
kind: release

metadata:
  name: ${service}-release
  service: ${service}
  owner: release-captain

# Secrets are references, never values: env:NAME or file:PATH. Use them as {{ secrets.<name> }}.
secrets:
  deploy_token: env:DEPLOY_TOKEN

environments:
  staging:
    url: https://staging.example.com
  production:
    url: https://app.example.com
    production: true
    # Deploys may only start inside a window and outside freezes.
    windows:
      - days: [tue, wed, thu]
        start: "10:00"
        end: "14:00"
        timezone: America/New_York
    # The release must have run in staging for a day first.
    soak: { in: staging, min: 24h }

roles:
  release-captain:
    members: [alice@example.com]
  on-call:
    members: [bob@example.com, carol@example.com]
    onCall: true

# Which refs may be released: tags matching v*. The version is the tag without the v.
release:
  tags: "v*"

# Every gate must pass before anything is deployed. Verdicts are cached per commit.
gates:
  - name: lint
    run: npm run lint
    parallel: true
  - name: test
    run: npm test
    parallel: true
  - name: build
    run: npm run build

# Named checks, reusable in pre-flight, smoke, checkpoints and rollback.
checks:
  health:
    type: http
    url: "{{ env.url }}/health"
    expect:
      status: 200
      body:
        - path: $.status
          equals: ok

preflight:
  - check: health
  - confirm: On-call knows about this release
    by: on-call

deploy:
  provider: command
  deploy: ./scripts/deploy.sh {{ env.name }} {{ release.version }}
  rollback: ./scripts/deploy.sh {{ env.name }} {{ release.previousVersion }}
  timeout: 15m

smoke:
  - check: health

monitor:
  interval: 30s
  checkpoints: [T+0, T+15m, T+30m, T+60m]
  signals:
    readiness:
      type: http
      url: "{{ env.url }}/health/ready"
      expect: { status: [200, 503] }
      value: $.status
  rules:
    - name: not-ready
      when: readiness == not_ready
      for: 5m
      severity: P0

rollback:
  target: 15m
  steps:
    - notify: rolling-back
      to: [releases]
    - revert: true
    - check: health

notify:
  channels:
    releases:
      type: slack
      webhook: env:SLACK_WEBHOOK_URL
  templates:
    started:
      text: "Deploying {{ service }} {{ release.version }} to {{ env.name }}."
    rolling-back:
      text: "Rolling back {{ service }} {{ release.version }} to {{ rollback.version }}: {{ reason }}"
    rolled-back:
      text: "Rolled back {{ service }} to {{ rollback.version }} in {{ rollback.duration }} (target {{ rollback.target }})."
    released:
      text: "{{ service }} {{ release.version }} is live on {{ env.name }}; every checkpoint passed."
  on:
    - { event: release.started, template: started, to: [releases] }
    - { event: rollback.completed, template: rolled-back, to: [releases] }
    - { event: release.completed, template: released, to: [releases] }
`;
}
