/**
 * The kubernetes provider in the conformance suite: the Kubernetes API stand-in
 * (test/helpers/kubernetes-api.ts) in this process, a kubeconfig pointing at it, and manifests
 * written to a temporary folder: a kustomization overlay over a base (Deployments api and web,
 * 10 replicas each, and a Service) for the normal variant; plain folders whose image never gets
 * ready (hang) or crash-loops with a progress deadline of 3 stand-in seconds (unhealthy); a
 * read-only token the cluster refuses writes for (refused). Each service (stateDir) gets its own
 * namespace, created here, so the spec stays plain JSON for a child process.
 */
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startKubernetesApi } from "../../test/helpers/kubernetes-api.js";
import type { ProviderCase } from "./conformance.js";
import { canaryReplicas } from "./kubernetes-canary.js";
import { tempDir } from "./test-support.js";

export const IMAGE = "registry.test/shop";
export const REPLICAS = 10;
const DEPLOYMENTS = ["api", "web"];

/** The namespace of one service of the conformance suite. */
export const namespaceOf = (stateDir: string) =>
  `g-${createHash("sha256").update(stateDir).digest("hex").slice(0, 12)}`;

/** Deployments api and web (and a Service selecting app=shop) running `image`. */
export function shopManifests(image: string, extra: { progressDeadlineSeconds?: number } = {}): string {
  const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: shop, component: ${name}}
spec:
  replicas: ${REPLICAS}
${extra.progressDeadlineSeconds ? `  progressDeadlineSeconds: ${extra.progressDeadlineSeconds}\n` : ""}  selector:
    matchLabels: {app: shop, component: ${name}}
  template:
    metadata:
      labels: {app: shop, component: ${name}}
    spec:
      containers:
        - name: ${name}
          image: ${image}:latest
          ports: [{containerPort: 8080}]
`;
  return DEPLOYMENTS.map(deployment).join("---\n");
}

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports: [{port: 80, targetPort: 8080}]
`;

export const conformance: ProviderCase = {
  provider: "kubernetes",
  async setup(cleanup) {
    const api = await startKubernetesApi({ readyAfterMs: 100, secondMs: 100 }, cleanup);
    const dir = tempDir("kubernetes-manifests");
    cleanup(() => rmSync(dir, { recursive: true, force: true }));
    const file = (rel: string, text: string) => {
      mkdirSync(join(dir, rel, ".."), { recursive: true });
      writeFileSync(join(dir, rel), text);
    };
    // The base names a development image; the overlay maps it to the registry's, as overlays do.
    file("base/deployments.yaml", shopManifests("shop-dev"));
    file("base/service.yaml", SERVICE);
    file("base/kustomization.yaml", "resources: [deployments.yaml, service.yaml]\n");
    file(
      "overlays/test/kustomization.yaml",
      `resources: [../../base]\nimages:\n  - name: shop-dev\n    newName: ${IMAGE}\n`,
    );
    file("hang/all.yaml", shopManifests("registry.test/hang"));
    file("unhealthy/all.yaml", shopManifests("registry.test/crash", { progressDeadlineSeconds: 3 }));
    api.behave("registry.test/hang", "never-ready");
    api.behave("registry.test/crash", "crash");
    const admin = api.writeKubeconfig(join(dir, "kubeconfig"));
    const viewer = api.writeKubeconfig(join(dir, "kubeconfig-viewer"), { token: api.viewerToken });

    return {
      async spec(variant, stateDir) {
        const namespace = namespaceOf(stateDir);
        api.createNamespace(namespace);
        const image = {
          normal: IMAGE,
          refused: IMAGE,
          hang: "registry.test/hang",
          unhealthy: "registry.test/crash",
        }[variant];
        return {
          provider: "kubernetes",
          kubeconfig: variant === "refused" ? viewer : admin,
          namespace,
          apply: join(
            dir,
            { normal: "overlays/test", refused: "overlays/test", hang: "hang", unhealthy: "unhealthy" }[
              variant
            ],
          ),
          deployments: DEPLOYMENTS,
          image,
          timeout: variant === "normal" ? "5s" : "1s",
        };
      },
      env: () => ({}),
      expect: {
        hang: /^applied 2\.0\.0, but deployment api \(and web\) did not finish its rollout within 1s: .*ContainerCreating/,
        unhealthy:
          /^applied 2\.0\.0, but deployment (api|web) exceeded its progress deadline of 3s \(ProgressDeadlineExceeded: ReplicaSet "(api|web)-[0-9a-f]+" has timed out progressing\.\).*CrashLoopBackOff/,
        // A read-only token: the dry run is refused, so nothing was changed.
        refused: {
          message:
            /nothing was changed: .*forbidden: User "system:serviceaccount:gantry:viewer" cannot patch/,
          started: false,
        },
      },
      serving: async (stateDir) => api.serving(namespaceOf(stateDir), DEPLOYMENTS, IMAGE),
      operations: async (stateDir) => api.revision(namespaceOf(stateDir), "api"),
      delay: (ms) => api.delay(ms),
      share: async (stateDir, version) => api.share(namespaceOf(stateDir), IMAGE, version),
      rounds: (weight) => canaryReplicas(weight, REPLICAS).canary / REPLICAS,
    };
  },
};
