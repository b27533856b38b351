// The seed's sanity check of the PWA: the service worker, the cached fonts, the offline route.
import { expect, test } from "@playwright/test";

test("the service worker precaches the offline route and the fonts", async ({ page }) => {
  await page.goto("/");
  const cached: string[] = await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    const urls: string[] = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
    }
    return urls;
  });
  expect(cached).toContain("/offline");
  expect(cached).toContain("/static/fonts.css");
});

test("offline, a page the app never cached falls back to the offline route", async ({ page, context }) => {
  await page.goto("/");
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await context.setOffline(true);
  await page.goto("/coach/session-never-visited");
  await expect(page.getByTestId("offline-fallback")).toBeVisible();
  expect(await page.title()).toMatch(/Offline/);
  await context.setOffline(false);
});
