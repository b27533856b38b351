/**
 * A local SMTP server for email tests, on 127.0.0.1 and a free port, built on the smtp-server
 * package (https://nodemailer.com/extras/smtp-server): SMTP (RFC 5321), AUTH PLAIN and LOGIN
 * (RFC 4954) when a user is given, STARTTLS (RFC 3207) when a certificate is given, or TLS from
 * the first byte with `secure` (RFC 8314's port-465 style). Each message received is parsed
 * with mailparser (https://nodemailer.com/extras/mailparser). Like a real server, it refuses
 * AUTH before STARTTLS when it offers STARTTLS.
 */
import { type AddressObject, type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer, type SMTPServerError } from "smtp-server";
import { listen } from "../../src/probes/test-support.js";

export interface SmtpServerOptions {
  /** With a user, every client must log in. */
  user?: string;
  password?: string;
  /** A certificate and its key: STARTTLS is offered (or, with `secure`, TLS from the start). */
  tls?: { key: string; cert: string };
  secure?: boolean;
  /** Addresses refused at RCPT TO with 550 5.1.1. */
  unknownRecipients?: string[];
}

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  subject: string | undefined;
  text: string | undefined;
  html: string | undefined;
  messageId: string | undefined;
  inReplyTo: string | undefined;
  references: string[];
  to: string[];
  cc: string[];
  headers: ParsedMail["headers"];
  raw: string;
  /** Whether the message came over TLS. */
  secure: boolean;
}

export interface SmtpTestServer {
  port: number;
  /** smtp:// (or smtps:// when `secure`) with these credentials; the server's own by default. */
  url(user?: string, password?: string): string;
  messages: ReceivedMail[];
  /** The next MAIL FROM is answered `<code> <message>`: 451 for a temporary failure, 550 for a refusal. */
  failNext(code: number, message: string): void;
}

function refusal(code: number, message: string): SMTPServerError {
  const err: SMTPServerError = new Error(message);
  err.responseCode = code;
  return err;
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) => a.value.map((v) => v.address ?? ""));
}

export async function startSmtpServer(
  options: SmtpServerOptions,
  cleanup: (stop: () => unknown) => void,
): Promise<SmtpTestServer> {
  const failures: Array<{ code: number; message: string }> = [];
  const messages: ReceivedMail[] = [];
  const unknown = new Set((options.unknownRecipients ?? []).map((a) => a.toLowerCase()));
  const smtp = new SMTPServer({
    secure: !!options.secure,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    disabledCommands: [...(options.tls ? [] : ["STARTTLS"]), ...(options.user ? [] : ["AUTH"])],
    authMethods: ["PLAIN", "LOGIN"],
    authOptional: !options.user,
    allowInsecureAuth: !options.tls,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === options.user && auth.password === options.password) {
        return callback(null, { user: auth.username });
      }
      return callback(refusal(535, "5.7.8 Authentication credentials invalid"));
    },
    onMailFrom(_address, _session, callback) {
      const planned = failures.shift();
      callback(planned ? refusal(planned.code, planned.message) : null);
    },
    onRcptTo(address, _session, callback) {
      if (!unknown.has(address.address.toLowerCase())) return callback();
      return callback(refusal(550, `5.1.1 <${address.address}>: Recipient address rejected: User unknown`));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", async () => {
        const raw = Buffer.concat(chunks);
        const mail = await simpleParser(raw);
        const references = mail.references;
        messages.push({
          envelope: {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
          },
          subject: mail.subject,
          text: mail.text,
          html: mail.html === false ? undefined : mail.html,
          messageId: mail.messageId,
          inReplyTo: mail.inReplyTo,
          references: references === undefined ? [] : Array.isArray(references) ? references : [references],
          to: addresses(mail.to),
          cc: addresses(mail.cc),
          headers: mail.headers,
          raw: raw.toString("utf8"),
          secure: session.secure,
        });
        callback();
      });
    },
  });
  smtp.on("error", () => undefined);
  const port = await listen(smtp.server, cleanup);
  const scheme = options.secure ? "smtps" : "smtp";
  return {
    port,
    messages,
    url(user = options.user, password = options.password) {
      const login = user ? `${encodeURIComponent(user)}:${encodeURIComponent(password ?? "")}@` : "";
      return `${scheme}://${login}127.0.0.1:${port}`;
    },
    failNext(code, message) {
      failures.push({ code, message });
    },
  };
}
