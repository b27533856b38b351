/**
 * The quickstart's inbox: a local receiver for the messages a release sends (the runbook's
 * `notify` section, channel `inbox`). It checks each delivery's Standard Webhooks signature,
 * keeps one copy per webhook-id (a repeat of a message is recognized, never shown twice) and
 * prints what it received.
 *
 * run.mjs starts it for `npm run quickstart`. To see the messages of a release you run by
 * hand, start it in another terminal and export the two variables it prints:
 *
 *   node examples/quickstart/inbox.mjs
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import { Webhook } from "standardwebhooks";

/** Starts the inbox on 127.0.0.1 and a free port (or `port`). */
export async function startInbox(port = 0) {
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const verifier = new Webhook(secret);
  const messages = [];
  const seen = new Set();
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      try {
        const payload = verifier.verify(body, req.headers);
        const id = String(req.headers["webhook-id"]);
        if (!seen.has(id)) {
          seen.add(id);
          messages.push({ id, ...payload });
        }
        res.writeHead(204).end();
      } catch (e) {
        res.writeHead(400, { "content-type": "text/plain" }).end(`rejected: ${e.message}`);
      }
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/releases`;
  return {
    url,
    secret,
    messages,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** One message as the quickstart prints it: its event, then its text, indented. */
export function show(m) {
  const text = String(m.data?.text ?? "")
    .trimEnd()
    .split("\n")
    .join("\n      ");
  return `  ✉ ${m.type.padEnd(19)} ${text}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const inbox = await startInbox(Number(process.env.QUICKSTART_INBOX_PORT ?? 0));
  console.log(`export QUICKSTART_INBOX_URL=${inbox.url}`);
  console.log(`export QUICKSTART_INBOX_SECRET=${inbox.secret}`);
  console.log("(waiting for messages; Ctrl-C stops)");
  let shown = 0;
  setInterval(() => {
    while (shown < inbox.messages.length) console.log(show(inbox.messages[shown++]));
  }, 200);
}
