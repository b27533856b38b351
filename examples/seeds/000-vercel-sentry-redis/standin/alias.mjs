/**
 * The production alias as a URL: every request asks the Vercel stand-in which deployment the
 * alias points at now, and is proxied to the app of that deployment's version (started on its
 * first request). So what answers at the alias is whatever the provider last pointed it at.
 */
import http from "node:http";

export function aliasServer({ vercel, alias, owner, portOf, apps }) {
  return http.createServer((req, res) => {
    const fail = (status, error) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error }));
    };
    const deployment = vercel.aliased(alias, owner);
    if (!deployment) return fail(404, `the alias ${alias} is not assigned (DEPLOYMENT_NOT_FOUND)`);
    const version = deployment.meta.gantryVersion;
    const port = portOf(version);
    if (port === undefined) return fail(502, `no app for deployment ${deployment.id}`);
    apps
      .ensure(version, port)
      .then(() => {
        const upstream = http.request(
          { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, {
              ...answer.headers,
              "x-vercel-deployment-id": deployment.id,
            });
            answer.pipe(res);
          },
        );
        upstream.on("error", (err) => fail(502, `deployment ${deployment.id}: ${err.message}`));
        req.pipe(upstream);
      })
      .catch((err) => fail(502, err.message));
  });
}
