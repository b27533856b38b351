/**
 * `npm run lint:policies` (Deployment Steps 4, "Run policy checks"): the cluster policies,
 * checked on the manifests in kubernetes/base: every Deployment lives in the namespace the
 * overlays set, runs the release image without a tag of its own (Gantry sets it), has a
 * readiness probe (a rollout waits on it), CPU and memory limits, runAsNonRoot, and a progress
 * deadline (the seed's `rollout status --timeout=5m`). One line per finding; exit 1 on any.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const BASE = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "kubernetes", "base");
const IMAGE = "ghcr.io/valuecanvas/valuecanvas";
const findings = [];
let deployments = 0;
for (const file of fs.readdirSync(BASE).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(BASE, file), "utf8"))) {
    const o = doc.toJS();
    if (o?.kind !== "Deployment") continue;
    deployments++;
    const at = `${file}: deployment ${o.metadata?.name}`;
    const spec = o.spec?.template?.spec ?? {};
    if (o.metadata?.namespace && o.metadata.namespace !== "valuecanvas")
      findings.push(`${at}: namespace ${o.metadata.namespace}`);
    if (!(o.spec?.progressDeadlineSeconds > 0)) findings.push(`${at}: no progressDeadlineSeconds`);
    if (spec.securityContext?.runAsNonRoot !== true) findings.push(`${at}: runAsNonRoot is not true`);
    for (const c of spec.containers ?? []) {
      if (c.image !== IMAGE)
        findings.push(`${at}: container ${c.name} runs ${c.image}, not ${IMAGE} (untagged)`);
      if (!c.readinessProbe) findings.push(`${at}: container ${c.name} has no readinessProbe`);
      if (!c.resources?.limits?.cpu || !c.resources?.limits?.memory)
        findings.push(`${at}: container ${c.name} has no CPU and memory limits`);
    }
  }
}
for (const f of findings) process.stdout.write(`✗ ${f}\n`);
process.stdout.write(`${deployments} deployments checked, ${findings.length} policy findings\n`);
process.exit(findings.length || deployments === 0 ? 1 : 0);
