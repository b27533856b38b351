import assert from "node:assert/strict";
import { test } from "node:test";
import { VercelDeploy } from "./vercel.js";

const deploy = (api: string) =>
  VercelDeploy.safeParse({
    provider: "vercel",
    project: "web",
    alias: "web.example.com",
    token: "env:T",
    api,
  });

test("deploy.api is an http(s) URL, or a template filled in per environment", () => {
  assert.equal(deploy("https://api.vercel.com").success, true);
  assert.equal(deploy("http://127.0.0.1:18101").success, true);
  assert.equal(deploy("{{ env.vars.vercel_api | default: 'https://api.vercel.com' }}").success, true);
  const refused = deploy("api.vercel.com");
  assert.equal(refused.success, false);
  assert.match(JSON.stringify(refused.error?.issues), /api must be an http\(s\) URL or a template/);
});
