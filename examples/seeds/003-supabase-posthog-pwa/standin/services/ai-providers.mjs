/**
 * The AI providers' APIs the app calls, one path prefix each (/openai, /anthropic, /together):
 * GET /<provider>/v1/models/<model> and POST /<provider>/v1/chat/completions, each with the
 * provider's key as a bearer token. Anthropic throttles: its model endpoint answers 429 with
 * Retry-After (the app reports it degraded), its chats still answer. Together has retired the
 * model the faulty build switches to (404 model_not_found).
 */
import http from "node:http";

const MODELS = {
  openai: ["gpt-4o-mini"],
  anthropic: ["claude-3-5-haiku"],
  together: ["llama-3.1-70b"],
};
const ANSWERS = [
  "What stands in your way becomes the way. Name the obstacle, then the next small step.",
  "You have power over your mind, not outside events. Which part of this is yours to act on?",
  "Waste no more time arguing what a good person should be. Be one, in the next hour.",
];

/** The providers' API server (not listening yet); `keys` maps a provider to the key it accepts. */
export function startAiProviders({ keys }) {
  let n = 0;
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const reply = (status, body, headers = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    const m = /^\/(openai|anthropic|together)\/v1\/(models\/([^/]+)|chat\/completions)$/.exec(
      new URL(req.url ?? "/", "http://127.0.0.1").pathname,
    );
    if (!m) return reply(404, { error: { code: "not_found", message: "no such endpoint" } });
    const provider = m[1];
    if (req.headers.authorization !== `Bearer ${keys[provider]}`) {
      return reply(401, { error: { code: "invalid_api_key", message: "Incorrect API key provided." } });
    }
    let model = m[3];
    if (!model) {
      try {
        model = JSON.parse(Buffer.concat(chunks).toString("utf8")).model;
      } catch {
        return reply(400, { error: { code: "invalid_json", message: "body is not JSON" } });
      }
    }
    if (!MODELS[provider].includes(model)) {
      return reply(404, {
        error: { code: "model_not_found", message: `The model ${model} does not exist.` },
      });
    }
    if (m[3] && provider === "anthropic") {
      const overloaded = {
        type: "error",
        error: { type: "rate_limit_error", message: "Number of requests has exceeded your rate limit." },
      };
      return reply(429, overloaded, { "retry-after": "1" });
    }
    if (m[3]) return reply(200, { id: model, object: "model", owned_by: provider });
    return reply(200, {
      id: `chatcmpl-${++n}`,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: ANSWERS[n % ANSWERS.length] } }],
    });
  });
  return server;
}
