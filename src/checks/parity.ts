/**
 * Parity: how alike two environments are. Each compared item — a dependency's version, the
 * runtime version, a configuration key's presence (names only), the database schema
 * version — either matches, differs acceptably (a pattern in parity.acceptable), or differs.
 * The score is the share of items that match or differ acceptably; `go` at or above
 * parity.go, `no-go` below parity.noGo, `review` between. A no-go is `failed`; a side that
 * cannot be read is `error`, never a score.
 */
import picomatch from "picomatch";
import { measure } from "../probes/index.js";
import type { Outcome } from "../probes/shared.js";
import type { Runbook } from "../runbook/schema/runbook.js";
import { type Inventory, readInventory } from "./inventory.js";
import type { EnvironmentScope } from "./scope.js";

export type ParitySpec = NonNullable<Runbook["parity"]>;

export interface Difference {
  /** `dependencies.react`, `runtime`, `keys.STRIPE_KEY`, `schema`. */
  item: string;
  /** Each side's value; for keys, "present" or "missing", never the value. */
  sides: [string, string];
  acceptable: boolean;
}

export interface ParityResult {
  environments: [string, string];
  /** 0–100, one decimal. */
  score: number;
  verdict: "go" | "review" | "no-go";
  compared: number;
  differences: Difference[];
}

/** Compares two sides' facts. Pure: `facts` maps an item to its value on each side (undefined: absent). */
export function scoreParity(
  environments: [string, string],
  facts: Map<string, [string | undefined, string | undefined]>,
  spec: Pick<ParitySpec, "acceptable" | "go" | "noGo">,
): ParityResult {
  const isAcceptable = picomatch(spec.acceptable.length > 0 ? spec.acceptable : ["\0none"], { dot: true });
  const differences: Difference[] = [];
  let fine = 0;
  for (const [item, [a, b]] of [...facts.entries()].sort(([x], [y]) => x.localeCompare(y))) {
    if (a === b) {
      fine++;
      continue;
    }
    const acceptable = isAcceptable(item);
    if (acceptable) fine++;
    differences.push({ item, sides: [a ?? "missing", b ?? "missing"], acceptable });
  }
  const compared = facts.size;
  const score = compared === 0 ? 100 : Math.round((fine / compared) * 1000) / 10;
  const verdict = score >= spec.go * 100 ? "go" : score < spec.noGo * 100 ? "no-go" : "review";
  return { environments, score, verdict, compared, differences };
}

/** The facts of one side, keyed by item. Keys are compared by presence only. */
function factsOf(inventory: Inventory, compare: ParitySpec["compare"]): Map<string, string> {
  const facts = new Map<string, string>();
  if (compare.includes("dependencies")) {
    for (const [name, version] of Object.entries(inventory.dependencies ?? {})) {
      facts.set(`dependencies.${name}`, version);
    }
  }
  if (compare.includes("runtime") && inventory.runtime !== undefined) facts.set("runtime", inventory.runtime);
  if (compare.includes("keys")) for (const key of inventory.keys ?? []) facts.set(`keys.${key}`, "present");
  return facts;
}

/** Reads both environments and scores them. Never throws. */
export async function runParity(
  spec: ParitySpec,
  here: EnvironmentScope,
  other: EnvironmentScope,
  signal?: AbortSignal,
): Promise<Outcome & { parity?: ParityResult }> {
  const sides = [other, here];
  const reads = await Promise.all(sides.map((s) => readInventory(s, signal)));
  const problems = reads.flatMap((r) => (r.ok ? [] : [r.problem]));
  if (problems.length > 0)
    return { phase: "error", message: `parity cannot be measured: ${problems.join("; ")}` };
  const [a, b] = reads.map((r) => factsOf((r as { inventory: Inventory }).inventory, spec.compare)) as [
    Map<string, string>,
    Map<string, string>,
  ];
  const facts = new Map<string, [string | undefined, string | undefined]>();
  for (const item of new Set([...a.keys(), ...b.keys()])) {
    // What one side does not report (a key, a dependency) differs from what the other does.
    facts.set(item, [a.get(item), b.get(item)]);
  }
  if (spec.compare.includes("schema")) {
    const versions = await Promise.all(sides.map((s) => schemaVersion(s, signal)));
    const problem = versions.find((v) => "problem" in v) as { problem: string } | undefined;
    if (problem) return { phase: "error", message: `parity cannot be measured: ${problem.problem}` };
    const [x, y] = versions as Array<{ version: string | undefined }>;
    if (x!.version !== undefined || y!.version !== undefined) facts.set("schema", [x!.version, y!.version]);
  }
  const result = scoreParity([other.name, here.name], facts, spec);
  const unacceptable = result.differences.filter((d) => !d.acceptable);
  const listed = unacceptable
    .slice(0, 5)
    .map((d) => `${d.item} ${d.sides[0]} vs ${d.sides[1]}`)
    .join(", ");
  const more = unacceptable.length > 5 ? ` and ${unacceptable.length - 5} more` : "";
  const message =
    `parity ${other.name} ↔ ${here.name}: ${result.score}% of ${result.compared} items (${result.verdict}; go ≥ ${pct(spec.go)}, no-go < ${pct(spec.noGo)})` +
    (unacceptable.length > 0 ? `; differs: ${listed}${more}` : "") +
    (result.differences.length > unacceptable.length
      ? `; ${result.differences.length - unacceptable.length} acceptable difference(s)`
      : "");
  return {
    phase: result.verdict === "no-go" ? "failed" : "successful",
    value: result.score,
    message,
    detail: { verdict: result.verdict, compared: result.compared, differences: result.differences },
    parity: result,
  };
}

async function schemaVersion(
  scope: EnvironmentScope,
  signal: AbortSignal | undefined,
): Promise<{ version: string | undefined } | { problem: string }> {
  const db = scope.spec.database;
  if (!db?.schemaVersion) return { version: undefined };
  const probe = {
    type: "postgres",
    measure: "schema-version",
    timeout: { text: "10s", ms: 10_000 },
  } as const;
  let env: ReturnType<EnvironmentScope["probeEnvironment"]>;
  try {
    env = scope.probeEnvironment(probe as never);
  } catch (err) {
    return { problem: (err as Error).message };
  }
  const m = await measure(probe as never, {
    env,
    redact: scope.secrets.redact,
    ...(signal ? { signal } : {}),
  });
  if (m.phase !== "successful" || m.value === undefined || m.value === null) {
    return { problem: `${scope.name} schema version: ${m.message}` };
  }
  return { version: String(m.value) };
}

function pct(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
