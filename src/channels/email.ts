/**
 * Email over SMTP through nodemailer. A message's Message-ID is made from its key, so a repeat
 * is the same message to whoever receives it: SMTP cannot say afterwards whether a message went
 * through, so there is no `find`, and after a crash the message is sent again with the same
 * Message-ID. Later messages of a release name the first in In-Reply-To and References, so
 * mail clients show one conversation.
 */
import fs from "node:fs";
import path from "node:path";
import { createTransport, type NodemailerError } from "nodemailer";
import { htmlFromText } from "./email-html.js";
import {
  type Attempt,
  attempt,
  type Failure,
  failure,
  fieldPath,
  networkWords,
  oneLine,
  scrubbed,
  scrubber,
} from "./shared.js";
import type { Channel, ChannelModule, Delivery, Message } from "./types.js";

interface SmtpServer {
  host: string;
  port: number;
  /** smtps://: TLS from the first byte. smtp://: STARTTLS. */
  secure: boolean;
  user: string;
  pass: string;
}

/** Certificate errors: another attempt meets the same certificate. */
const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|certificate/i;

export const emailChannel: ChannelModule<"email"> = {
  type: "email",
  create(spec, name, env) {
    const where = fieldPath(name, "smtp");
    const url = env.field(spec.smtp, where);
    const server = smtpServer(url, where);
    const ca = spec.ca === undefined ? undefined : readCa(spec.ca, env.dir, fieldPath(name, "ca"));
    const transport = createTransport({
      host: server.host,
      port: server.port,
      secure: server.secure,
      // Over smtp://, `require` refuses to go on when the server offers no STARTTLS;
      // `opportunistic` is nodemailer's default: STARTTLS when the server offers it.
      requireTLS: !server.secure && spec.tls === "require",
      ...(server.user ? { auth: { user: server.user, pass: server.pass } } : {}),
      ...(ca ? { tls: { ca } } : {}),
      connectionTimeout: spec.timeout.ms,
      greetingTimeout: spec.timeout.ms,
      socketTimeout: spec.timeout.ms,
      logger: false,
    });
    const scrub = scrubber(env, [url, server.pass]);
    const target = spec.to.join(", ");
    const channel: Channel = {
      type: "email",
      target,
      minIntervalMs: 0,
      async send(message, signal) {
        const a = attempt(spec.timeout, signal);
        const messageId = messageIdOf(message.key);
        const thread = message.thread;
        try {
          const info = await transport.sendMail({
            from: spec.from,
            to: spec.to,
            ...(spec.cc.length ? { cc: spec.cc } : {}),
            subject: subjectOf(message),
            text: message.text,
            html: message.html ?? htmlFromText(message.text),
            messageId,
            ...(thread ? { inReplyTo: thread.id, references: [thread.id] } : {}),
            // RFC 3834: sent by a program, so that vacation responders do not answer it.
            headers: { "Auto-Submitted": "auto-generated" },
            // nodemailer closes this message's connection when the signal aborts; an unpooled
            // transport keeps no other open.
            signal: a.signal,
          });
          const refused = info.rejected ?? [];
          const detail = `sent to ${target}${refused.length ? `; refused by the server: ${refused.join(", ")}` : ""}`;
          const delivery: Delivery = thread
            ? { ok: true, id: messageId, detail }
            : { ok: true, id: messageId, thread: { id: messageId, text: message.text }, detail };
          return scrubbed(delivery, scrub);
        } catch (err) {
          return scrubbed(smtpFailure(err, a), scrub);
        }
      },
    };
    return channel;
  },
};

/** `<key@gantry>`, the key's characters outside [A-Za-z0-9._-] replaced: the same for every attempt. */
export function messageIdOf(key: string): string {
  return `<${key.replace(/[^A-Za-z0-9._-]/g, "_") || "message"}@gantry>`;
}

/** The template's subject, or `api 1.4.2 in production: release failed`. */
export function subjectOf(message: Message): string {
  const { service, version, environment } = message.release;
  const subject =
    message.subject ?? `${service} ${version} in ${environment}: ${message.event.replace(".", " ")}`;
  return oneLine(subject, 200);
}

function smtpServer(url: string, where: string): SmtpServer {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // The value is not shown: it holds a password.
    throw new Error(
      `${where}: not a URL; write smtp://user:password@host:587 or smtps://user:password@host:465`,
    );
  }
  if (u.protocol !== "smtp:" && u.protocol !== "smtps:") {
    throw new Error(`${where}: use an smtp:// (STARTTLS) or smtps:// (TLS) URL, not ${u.protocol}//`);
  }
  const secure = u.protocol === "smtps:";
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
  };
}

function readCa(file: string, dir: string, where: string): string {
  try {
    return fs.readFileSync(path.resolve(dir, file), "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code ?? "unreadable";
    throw new Error(`${where}: cannot read ${file} (${code}); give a PEM file of CA certificates`);
  }
}

function smtpFailure(err: unknown, a: Attempt): Failure {
  const stopped = a.stopped();
  if (stopped) return failure(`SMTP: ${stopped}`, true);
  const e = (err ?? {}) as NodemailerError;
  const reply = e.response ? `: ${e.response}` : "";
  switch (e.code) {
    case "EAUTH":
      // 535 is final; 454 (a temporary authentication failure) may pass later.
      return failure(`SMTP authentication failed${reply || `: ${e.message}`}`, e.permanent === false);
    case "ENOAUTH":
      return failure("SMTP: the server asks for a login; put user:password in the smtp URL", false);
    case "ETLS":
      // Its message quotes the server's answer (a STARTTLS that is not offered, with tls: require).
      return failure(`SMTP: TLS failed: ${e.message}`, false);
    case "ETIMEDOUT":
      return failure(`SMTP: ${a.timedOut}`, true);
    case "ECONNECTION":
    case "ESOCKET":
    case "EDNS":
    case "EPROXY": {
      const why = `${e.originalCode ?? ""} ${e.message}`;
      if (CERTIFICATE.test(why))
        return failure(`SMTP: TLS failed: ${e.message}; trust its CA with \`ca\``, false);
      return failure(`SMTP: ${networkWords(e.originalCode) ?? e.message}`, true);
    }
  }
  if (e.responseCode) {
    // 5xx is a refusal for good (a recipient that does not exist); 4xx asks to try again later.
    const said = e.response ?? `${e.responseCode} ${e.message}`;
    return failure(`SMTP: ${e.command ?? "the server"} was answered ${said}`, !e.permanent);
  }
  return failure(`SMTP: ${e.message || String(err)}`, true);
}
