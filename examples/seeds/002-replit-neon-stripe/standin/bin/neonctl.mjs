#!/usr/bin/env node
// neonctl as the runbook calls it (`npx neonctl branches create|list|restore …`), talking to
// the stand-in's Neon API at NEON_API_HOST (real neonctl's --api-host) instead of
// console.neon.tech. Only the options the runbook passes are understood.
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const positional = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
const [group, verb, ...rest] = positional;
const host = opt("api-host") ?? process.env.NEON_API_HOST;
const key = opt("api-key") ?? process.env.NEON_API_KEY;
const project = opt("project-id");
const fail = (message) => {
  process.stderr.write(`neonctl: ${message}\n`);
  process.exit(1);
};
if (group !== "branches") fail(`unsupported command: ${positional.join(" ")}`);
if (!host) fail("NEON_API_HOST is not set");
if (!key) fail("no API key: pass --api-key or set NEON_API_KEY");
if (!project) fail("--project-id is required");

async function call(method, path, body) {
  const res = await fetch(`${host}/api/v2/projects/${encodeURIComponent(project)}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(120_000),
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) fail(`${method} ${path}: ${res.status} ${answer.message ?? ""}`);
  return answer;
}

const { branches } = await call("GET", "/branches");
const byName = (name) => branches.find((b) => b.name === name || b.id === name);
if (verb === "list") {
  const out = branches.map(({ file: _file, ...b }) => b);
  process.stdout.write(
    opt("output") === "json"
      ? `${JSON.stringify(out, null, 2)}\n`
      : `${out.map((b) => `${b.name}\t${b.created_at}`).join("\n")}\n`,
  );
} else if (verb === "create") {
  const parent = byName(opt("parent") ?? "main");
  if (!parent) fail(`no parent branch ${opt("parent")}`);
  const { branch } = await call("POST", "/branches", { branch: { name: opt("name"), parent_id: parent.id } });
  process.stdout.write(
    `created branch ${branch.name} (${branch.id}) from ${parent.name} at ${branch.created_at}\n${branch.name}\n`,
  );
} else if (verb === "restore") {
  const [target, source] = rest;
  const t = byName(target);
  if (!t) fail(`no branch ${target}`);
  const r = await call("POST", `/branches/${t.id}/restore`, {
    source_branch_id: source,
    preserve_under_name: opt("preserve-under-name"),
  });
  process.stdout.write(
    `restored ${target} to ${r.restored_from}${opt("preserve-under-name") ? `; its previous state is branch ${opt("preserve-under-name")}` : ""}\n`,
  );
} else fail(`unsupported command: branches ${verb}`);
