// Where the runbook's messages arrive: an SMTP server (STARTTLS with the stand-in's
// certificate, a login required) for the email channels, and the status page's webhook
// endpoint, which accepts only requests signed per Standard Webhooks with the channel's secret.
// Each accepted message is written to DIR/messages/ as one JSON file, for a person to read.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { SMTPServer } from "smtp-server";
import { Webhook } from "standardwebhooks";

export function messageStore(dir) {
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  return (kind, message) => {
    n++;
    const file = path.join(dir, `${String(n).padStart(3, "0")}-${kind}.json`);
    fs.writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...message }, null, 2)}\n`);
  };
}

export function smtpServer({ user, password, tls, store }) {
  return new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    authMethods: ["PLAIN", "LOGIN"],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) return callback(null, { user });
      callback(new Error("535 5.7.8 authentication failed"));
    },
    onData(stream, session, callback) {
      const chunks = [];
      stream.on("data", (c) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const subject = /^Subject: (.*)$/im.exec(raw)?.[1];
        store("email", {
          from: session.envelope.mailFrom?.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          subject,
          secure: session.secure,
          raw,
        });
        callback();
      });
    },
  });
}

export function statusPageServer({ secret, store }) {
  const verifier = new Webhook(secret);
  return http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      const payload = verifier.verify(body, req.headers);
      store("status-page", { payload });
      res.writeHead(204).end();
    } catch (e) {
      res.writeHead(401, { "content-type": "text/plain" }).end(`signature not valid: ${e.message}\n`);
    }
  });
}
