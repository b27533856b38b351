/**
 * One provider call in a process of its own, for the provider crash tests: reads what to do
 * as JSON from argv[2] (the deploy section, its environment, the state folder, the database),
 * makes the call, prints the result as JSON. The tests SIGKILL it halfway.
 */
import pg from "pg";
import { createProvider } from "../../src/providers/index.js";
import { testOptions } from "../../src/providers/test-support.js";
import { Deploy } from "../../src/runbook/schema/flow.js";

export interface ChildCall {
  spec: Record<string, unknown>;
  env: Record<string, string>;
  stateDir: string;
  databaseUrl: string;
  action: "deploy" | "rollback";
  version: string;
  key: string;
  timeoutMs: number;
}

const call = JSON.parse(process.argv[2] ?? "{}") as ChildCall;
const pool = new pg.Pool({ connectionString: call.databaseUrl, max: 2 });
const provider = createProvider(
  Deploy.parse(call.spec),
  testOptions(pool, call.stateDir, { env: call.env }),
)!;
console.log("calling");
const result = await provider[call.action]({
  version: call.version,
  key: call.key,
  timeoutMs: call.timeoutMs,
});
console.log(JSON.stringify(result));
await pool.end();
