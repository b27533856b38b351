/** The email channel against a local SMTP server (smtp-server) with STARTTLS, a test CA and a login. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { leaf, testCa } from "../../test/helpers/certs.js";
import { startSmtpServer } from "../../test/helpers/smtp-server.js";
import { closedPort, silentServer } from "../probes/test-support.js";
import { type ConformanceCase, spec } from "./conformance.js";

const USER = "gantry";
const PASSWORD = "Pa55-word-conformance";
const WRONG = "not-the-Pa55word-at-all";

export const conformance: ConformanceCase[] = [
  {
    type: "email",
    async setup(cleanup) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gantry-email-"));
      cleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
      const ca = testCa();
      fs.writeFileSync(path.join(dir, "ca.pem"), ca.cert);
      const tls = leaf({ name: "localhost", ips: ["127.0.0.1"], ca });
      const server = await startSmtpServer(
        { user: USER, password: PASSWORD, tls, unknownRecipients: ["nobody@example.com"] },
        cleanup,
      );
      const plain = await startSmtpServer({ user: USER, password: PASSWORD }, cleanup);
      const mail = (smtp: string, extra: Record<string, unknown> = {}) =>
        spec({
          type: "email",
          to: ["ops@example.com"],
          cc: ["releases@example.com"],
          from: "Gantry <gantry@example.com>",
          smtp,
          ca: "ca.pem",
          ...extra,
        });
      const login = `${USER}:${PASSWORD}@127.0.0.1`;
      return {
        dir,
        healthy: mail(server.url()),
        received: () =>
          server.messages.map((m) => {
            const id = m.messageId ?? "";
            const text = m.text ?? "";
            const key = id.replace(/^<|@gantry>$/g, "");
            return m.inReplyTo
              ? { id, key, text, thread: m.inReplyTo, shown: text }
              : { id, key, text, shown: text };
          }),
        threads: true,
        refused: mail(server.url(USER, WRONG)),
        unreachable: mail(`smtp://${login}:${await closedPort()}`),
        hanging: mail(`smtp://${login}:${await silentServer(cleanup)}`),
        rateLimited: {
          spec: mail(server.url()),
          limit: () => server.failNext(451, "4.7.1 Greylisted, try again in 5 minutes"),
        },
        failures: [
          { what: "TLS required, the server offers no STARTTLS", spec: mail(plain.url()), retryable: false },
          {
            what: "a certificate no trusted CA signed",
            spec: mail(server.url(), { ca: undefined }),
            retryable: false,
          },
          {
            what: "a recipient the server does not know (550)",
            spec: mail(server.url(), { to: ["nobody@example.com"], cc: [] }),
            retryable: false,
          },
          {
            what: "a sender refused for good (550)",
            spec: mail(server.url()),
            prepare: () => server.failNext(550, "5.7.1 Sender rejected"),
            retryable: false,
          },
          {
            what: "a server shutting down (421)",
            spec: mail(server.url()),
            prepare: () => server.failNext(421, "4.3.2 Service shutting down"),
            retryable: true,
          },
        ],
        secrets: [PASSWORD, WRONG, server.url(), server.url(USER, WRONG)],
      };
    },
  },
];
