/** The quickstart with a rollback that chooses: for the rollback-choice tests and their crash suite. */
import fs from "node:fs";
import path from "node:path";
import { after } from "node:test";
import { type Workspace, workspace } from "./workspace.js";

/** The quickstart's rollback with a choice first (v2 still serves then), `choose` its settings. */
export function choosing(choose: string, fastWhen: string): Array<[string | RegExp, string]> {
  return [
    ["deploy:\n", "roles:\n  dba: { members: [dana] }\ndeploy:\n"],
    [
      "  steps:\n    - revert: true\n",
      `  steps:
    - name: db
      choose:
${choose}        default: slow
        options:
          - name: fast
            description: the quick way
${fastWhen ? `            when: ${fastWhen}\n` : ""}            steps: [{ name: mark, run: echo fast >> chosen.log }]
          - name: slow
            description: the careful way
            steps: [{ name: mark, run: echo slow >> chosen.log }]
    - revert: true
`,
    ],
  ];
}

export const chosenLog = (w: Workspace) => {
  try {
    return fs.readFileSync(path.join(w.dir, "chosen.log"), "utf8").trim().split("\n");
  } catch {
    return [];
  }
};

/** Workspaces of the quickstart at 1.0.0 with `edit` applied, cleaned up after the test file. */
export function choiceWorkspaces(): (edit: Array<[string | RegExp, string]>) => Promise<Workspace> {
  const spaces: Workspace[] = [];
  after(async () => {
    await Promise.all(spaces.map((w) => w.cleanup()));
  });
  return async (edit) => {
    const w = await workspace({ previous: "1.0.0", edit });
    spaces.push(w);
    return w;
  };
}
