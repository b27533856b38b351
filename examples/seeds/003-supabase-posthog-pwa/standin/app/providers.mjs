/**
 * The app's AI providers: each one's client (chat completions through the provider's API) and
 * its health, polled in the background so /api/health answers at once. A provider is healthy
 * when its model answers, degraded when the provider throttles (429: it still serves, slower),
 * unavailable when it does not answer or refuses the model.
 */
const POLL_MS = 250;

export const PROVIDERS = [
  { name: "openai", model: "gpt-4o-mini", key: "OPENAI_API_KEY" },
  { name: "anthropic", model: "claude-3-5-haiku", key: "ANTHROPIC_API_KEY" },
  { name: "together", model: "llama-3.1-70b", key: "TOGETHER_API_KEY" },
];

/**
 * `defect` (from versions.json) replaces one provider's model once `afterMs` have passed since
 * the app started: the faulty build's configuration the seed's release must catch.
 */
export function createProviders({ apiUrl, env, defect, startedAt }) {
  const health = new Map(PROVIDERS.map((p) => [p.name, { status: "unavailable", latencyMs: null }]));
  const modelOf = (p) =>
    defect && defect.provider === p.name && Date.now() - startedAt >= defect.afterMs ? defect.model : p.model;
  const headers = (p) => ({
    authorization: `Bearer ${env[p.key] ?? ""}`,
    "content-type": "application/json",
  });

  async function check(p) {
    const started = Date.now();
    try {
      const res = await fetch(`${apiUrl}/${p.name}/v1/models/${modelOf(p)}`, {
        headers: headers(p),
        signal: AbortSignal.timeout(2000),
      });
      await res.arrayBuffer();
      const latencyMs = Date.now() - started;
      const status = res.status === 429 ? "degraded" : res.ok ? "healthy" : "unavailable";
      health.set(p.name, { status, latencyMs });
    } catch {
      health.set(p.name, { status: "unavailable", latencyMs: null });
    }
  }

  let timer;
  const poll = async () => {
    await Promise.all(PROVIDERS.map(check));
    timer = setTimeout(poll, POLL_MS);
  };

  return {
    /** Resolves after the first round of health checks. */
    async start() {
      await Promise.all(PROVIDERS.map(check));
      timer = setTimeout(poll, POLL_MS);
    },
    stop() {
      clearTimeout(timer);
    },
    health() {
      return PROVIDERS.map((p) => ({ name: p.name, model: modelOf(p), ...health.get(p.name) }));
    },
    /** One chat completion from provider `p`; throws with the provider's error. */
    async complete(p, prompt) {
      const res = await fetch(`${apiUrl}/${p.name}/v1/chat/completions`, {
        method: "POST",
        headers: headers(p),
        body: JSON.stringify({ model: modelOf(p), messages: [{ role: "user", content: prompt }] }),
        signal: AbortSignal.timeout(5000),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(`${p.name} answered ${res.status} ${body?.error?.code ?? ""}`.trim());
      return body.choices?.[0]?.message?.content ?? "";
    },
  };
}
