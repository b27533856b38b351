/**
 * The stand-in's fixed ports on 127.0.0.1, in the block 18500-18599 (the seed's README lists
 * them). The pods' ports are slots: each Deployment's processes take the first free one of
 * theirs, so the old and the new version can serve side by side during a rollout.
 */
export const PORTS = {
  ingress: 18500,
  kubernetes: 18501,
  postgres: 18502,
  redis: 18503,
  prometheus: 18504,
  grafana: 18505,
  slack: 18506,
  github: 18507,
  supabase: 18508,
};

export const POD_PORTS = {
  web: [18510, 18511, 18512, 18513],
  api: [18514, 18515, 18516, 18517],
  worker: [18518, 18519, 18520, 18521],
};

export const NAMESPACE = "valuecanvas";
export const DEPLOYMENTS = ["api", "web", "worker"];
export const INGRESS_URL = `http://127.0.0.1:${PORTS.ingress}`;
