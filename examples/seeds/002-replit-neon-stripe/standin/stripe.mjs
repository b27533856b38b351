// The part of Stripe's API RuR2 and the runbook use: GET /v1/charges (the seed's connectivity
// check: 200 with the right secret key, 401 without) and POST /v1/checkout/sessions (the
// smoke test's Checkout session). The key is compared by its sha256; nothing is logged.
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";

const sha256 = (v) => createHash("sha256").update(v).digest("hex");

/** The key a request carries: Bearer, or HTTP Basic with the key as user (curl -u "$KEY:"). */
function keyOf(req) {
  const h = req.headers.authorization ?? "";
  const bearer = /^Bearer (.+)$/.exec(h)?.[1];
  if (bearer) return bearer;
  const basic = /^Basic (.+)$/.exec(h)?.[1];
  return basic ? Buffer.from(basic, "base64").toString("utf8").split(":")[0] : undefined;
}

export function stripeServer({ secretKeySha256 }) {
  const sessions = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const send = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const key = keyOf(req);
    if (!key || sha256(key) !== secretKeySha256) {
      return send(401, { error: { type: "invalid_request_error", message: "Invalid API Key provided" } });
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/v1/charges") {
      return send(200, { object: "list", data: [], has_more: false, url: "/v1/charges" });
    }
    if (req.method === "POST" && url.pathname === "/v1/checkout/sessions") {
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const price = form.get("line_items[0][price]") ?? "";
      if (!/^price_/.test(price)) {
        return send(400, { error: { type: "invalid_request_error", message: `No such price: '${price}'` } });
      }
      const id = `cs_test_${randomBytes(12).toString("hex")}`;
      sessions.push({ id, price, at: new Date().toISOString() });
      return send(200, {
        id,
        object: "checkout.session",
        mode: form.get("mode"),
        url: `https://checkout.stripe.com/c/pay/${id}`,
      });
    }
    send(404, {
      error: {
        type: "invalid_request_error",
        message: `Unrecognized request URL (${req.method}: ${url.pathname})`,
      },
    });
  });
  return { server, sessions };
}
