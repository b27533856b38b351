/** The webhook channel against a local Standard Webhooks receiver that verifies each signature. */
import { startWebhookReceiver } from "../../test/helpers/webhook-receiver.js";
import { closedPort, silentServer } from "../probes/test-support.js";
import { type ConformanceCase, type Received, spec } from "./conformance.js";

/** Standard Webhooks' example secret; WRONG is another. */
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WRONG = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

export const conformance: ConformanceCase[] = [
  {
    type: "webhook",
    async setup(cleanup) {
      const receiver = await startWebhookReceiver({ secret: SECRET }, cleanup);
      const down = await startWebhookReceiver({ secret: SECRET }, cleanup);
      down.down(true);
      const hook = (url: string, secret = SECRET) => spec({ type: "webhook", url, secret });
      const failing = (status: number, retryable: boolean) => ({
        what: `HTTP ${status}`,
        spec: hook(receiver.url),
        prepare: () => receiver.failNext(1, status),
        retryable,
      });
      const url = new URL(receiver.url);
      return {
        healthy: hook(receiver.url),
        received: () =>
          receiver.requests
            .filter((r) => r.verified && r.status < 300)
            .map((r): Received => {
              const text = String((r.payload as { data?: { text?: unknown } }).data?.text ?? "");
              return { id: r.id ?? "", key: r.id ?? "", text, shown: text };
            }),
        threads: false,
        refused: hook(receiver.url, WRONG),
        unreachable: hook(`http://127.0.0.1:${await closedPort()}/hooks/x`),
        hanging: hook(`http://127.0.0.1:${await silentServer(cleanup)}/hooks/x`),
        rateLimited: {
          spec: hook(receiver.url),
          limit: () => receiver.failNext(1, 429, 2),
          retryAfterMs: 2000,
        },
        failures: [
          failing(400, false),
          failing(401, false),
          failing(403, false),
          failing(404, false),
          failing(410, false),
          failing(413, false),
          failing(301, false),
          failing(408, true),
          failing(500, true),
          failing(502, true),
          failing(503, true),
          {
            what: "a path the receiver does not know",
            spec: hook(`${url.origin}/hooks/elsewhere`),
            retryable: false,
          },
          { what: "a receiver that closes every connection", spec: hook(down.url), retryable: true },
        ],
        secrets: [SECRET, WRONG, receiver.url, url.pathname, url.search.slice(1), down.url],
      };
    },
  },
];
