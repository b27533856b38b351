/**
 * The app's users: a coach question every `everyMs` to whatever serves on the app port, one at
 * a time. What the app does with them (the provider it picks, the PostHog event it sends) is
 * the app's; an app that is down between deploys just misses a few.
 */
const PROMPTS = [
  "How do I stay calm before a hard conversation about virtue?",
  "What does it mean to live according to nature?",
  "How should I think about death and fear?",
  "Is anger ever useful for justice?",
];

export function startTraffic({ url, everyMs }) {
  let n = 0;
  let stopped = false;
  let timer;
  const tick = async () => {
    try {
      await fetch(`${url}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: PROMPTS[n++ % PROMPTS.length] }),
        signal: AbortSignal.timeout(5000),
      }).then((r) => r.arrayBuffer());
    } catch {
      // Nothing serves right now.
    }
    if (!stopped) timer = setTimeout(tick, everyMs);
  };
  timer = setTimeout(tick, everyMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
