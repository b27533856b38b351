/** Listening on a fixed loopback port (refused, not retried, when it is taken) and closing. */
export function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
}

export function close(server) {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** The bearer token of a request (`Authorization: Bearer …`, or GitHub's `token …`). */
export function bearer(req) {
  const m = /^(?:Bearer|token) (.+)$/i.exec(String(req.headers.authorization ?? ""));
  return m?.[1];
}

export function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}
