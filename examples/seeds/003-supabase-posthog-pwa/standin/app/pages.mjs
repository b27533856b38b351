/**
 * The PWA's static side: the shell page with its install banner, the web app manifest, the
 * service worker (Workbox-style precache of the offline route and the fonts stylesheet,
 * SKIP_WAITING on request, the offline route for navigations that fail), the offline route.
 */
const shell = (version) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pocket Philosopher</title>
<link rel="manifest" href="/manifest.webmanifest"><link rel="stylesheet" href="/static/fonts.css">
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><div id="install-banner" hidden>Install Pocket Philosopher</div>
<main><h1>Pocket Philosopher</h1><p data-testid="version">${version}</p></main>
<script>
  window.addEventListener("beforeinstallprompt", () => { document.getElementById("install-banner").hidden = false; });
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js");
</script></body></html>`;

const offline = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Offline · Pocket Philosopher</title>
<link rel="stylesheet" href="/static/fonts.css"></head>
<body><main data-testid="offline-fallback"><h1>You are offline</h1>
<p>Your coach will answer as soon as you are back online. Saved reflections stay on this device.</p>
</main></body></html>`;

const PRECACHE = ["/offline", "/static/fonts.css"];

const worker = (version) => `// Pocket Philosopher service worker ${version}
const CACHE = "pp-precache-${version}";
const PRECACHE = ${JSON.stringify(PRECACHE)};
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
});
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/offline")));
  } else if (PRECACHE.includes(new URL(request.url).pathname)) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});
`;

const manifest = JSON.stringify({
  name: "Pocket Philosopher",
  short_name: "Philosopher",
  start_url: "/",
  display: "standalone",
  background_color: "#f7f3ea",
  theme_color: "#33302a",
  icons: [],
});

// Fonts the system has: the precache is what the check looks at, not the glyphs.
const fonts = `@font-face { font-family: "Pocket Serif"; src: local("DejaVu Serif"), local("Liberation Serif"); }
body { font-family: "Pocket Serif", serif; }`;

/** The static asset at `pathname`, or undefined. */
export function page(pathname, version) {
  switch (pathname) {
    case "/":
      return { type: "text/html; charset=utf-8", body: shell(version) };
    case "/offline":
      return { type: "text/html; charset=utf-8", body: offline };
    case "/sw.js":
      return { type: "text/javascript", body: worker(version), headers: { "service-worker-allowed": "/" } };
    case "/manifest.webmanifest":
      return { type: "application/manifest+json", body: manifest };
    case "/static/fonts.css":
      return { type: "text/css", body: fonts };
    default:
      return undefined;
  }
}
