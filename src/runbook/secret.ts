/**
 * Secret references. A runbook never holds a secret value: it names where the value lives,
 * `env:NAME` (an environment variable) or `file:PATH` (a file, e.g. a mounted secret).
 * Values are resolved only when a step needs them and are redacted from all output.
 */

export type SecretRef = { source: "env"; name: string } | { source: "file"; path: string };

export const SECRET_REF_PATTERN = "^(?:env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$";
const SECRET_REF = new RegExp(SECRET_REF_PATTERN);

/** Example: `parseSecretRef("env:STRIPE_SECRET_KEY")` → `{ source: "env", name: "STRIPE_SECRET_KEY" }`. */
export function parseSecretRef(text: string): SecretRef | undefined {
  if (!SECRET_REF.test(text)) return undefined;
  return text.startsWith("env:")
    ? { source: "env", name: text.slice(4) }
    : { source: "file", path: text.slice(5) };
}

export function formatSecretRef(ref: SecretRef): string {
  return ref.source === "env" ? `env:${ref.name}` : `file:${ref.path}`;
}

const KNOWN_PREFIXES = [
  /^sk_(live|test)_/, // Stripe
  /^(rk|pk)_live_/,
  /^whsec_/,
  /^gh[pousr]_[A-Za-z0-9]{20,}/, // GitHub
  /^xox[abprs]-/, // Slack
  /^AKIA[0-9A-Z]{16}$/, // AWS access key id
  /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./, // JWT
  /^phc_[A-Za-z0-9]{20,}/, // PostHog
  /^sntrys_/, // Sentry
  /^(sk|sk-ant|sk-proj)-[A-Za-z0-9_-]{16,}/, // model providers
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

/**
 * Whether a literal written into a secret-bearing field looks like a real secret, and why.
 * Used for warnings only: a false alarm costs a moment, a missed secret costs a rotation.
 */
export function looksLikeSecret(value: string): string | undefined {
  const text = value.trim();
  if (text.includes("{{")) return undefined; // interpolated, e.g. {{ secrets.token }}
  for (const prefix of KNOWN_PREFIXES) if (prefix.test(text)) return "it has the shape of a provider token";
  const url = tryUrl(text);
  if (url) {
    if (url.password) return "the URL carries a password";
    if (/^hooks\.slack\.com$/.test(url.hostname)) return "Slack webhook URLs are credentials";
    if (url.pathname.split("/").some(isRandomish)) return "the URL carries a token in its path";
    for (const [, v] of url.searchParams) if (isRandomish(v)) return "the URL carries a token in its query";
    return undefined;
  }
  if (/^Bearer\s+\S{8,}$/i.test(text) || /^Basic\s+\S{8,}$/i.test(text))
    return "it is a literal Authorization value";
  if (isRandomish(text)) return "it looks like a random token";
  return undefined;
}

function tryUrl(text: string): URL | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Long, no spaces, letters and digits mixed: the look of generated credentials. */
function isRandomish(text: string): boolean {
  if (text.length < 16 || /\s/.test(text)) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(text)).length;
  return classes >= 2 && /[0-9]/.test(text) && /^[A-Za-z0-9_\-+/=.]+$/.test(text);
}
