/**
 * The part of wscat the runbook uses: `wscat --connect URL --execute MESSAGE --wait SECONDS`.
 * Opens the websocket (ws:// only: the stand-in is plain HTTP on 127.0.0.1), sends MESSAGE,
 * prints the first answer as wscat does (`< pong`) and exits 0; exits 1 when the handshake
 * fails or nothing answers within SECONDS (wscat itself would wait out the seconds either way).
 * RFC 6455 over a plain socket: the websocket signal runs this at every monitoring sample, and
 * Node's own WebSocket client takes longer to load than the whole exchange.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";

const args = process.argv.slice(2);
const option = (...names) => {
  const i = args.findIndex((a) => names.includes(a));
  return i >= 0 ? args[i + 1] : undefined;
};
const url = new URL(option("--connect", "-c") ?? "ws://missing");
const message = Buffer.from(option("--execute", "-x") ?? "");
const seconds = Number(option("--wait", "-w") ?? 2);
const fail = (why) => {
  console.error(`error: ${why}`);
  process.exit(1);
};
if (url.protocol !== "ws:") fail(`only ws:// URLs are played here, not ${url.protocol}`);
setTimeout(() => fail(`no answer within ${seconds}s`), seconds * 1000);

const socket = net.connect(Number(url.port || 80), url.hostname, () => {
  socket.write(
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n` +
      "Sec-WebSocket-Version: 13\r\n\r\n",
  );
});
socket.on("error", (err) => fail(`could not connect to ${url.href}: ${err.message}`));
let data = Buffer.alloc(0);
let open = false;
socket.on("data", (chunk) => {
  data = Buffer.concat([data, chunk]);
  if (!open) {
    const end = data.indexOf("\r\n\r\n");
    if (end < 0) return;
    const status = data.subarray(0, data.indexOf("\r\n")).toString();
    if (!/^HTTP\/1\.1 101/.test(status)) fail(`handshake refused: ${status}`);
    open = true;
    data = data.subarray(end + 4);
    // A client frame: final text frame, masked.
    const mask = randomBytes(4);
    const payload = Buffer.from(message.map((b, i) => b ^ mask[i % 4]));
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload]));
  }
  // The server's answer: an unmasked frame with a short payload.
  if (data.length < 2 || data.length < 2 + (data[1] & 0x7f)) return;
  console.log(`< ${data.subarray(2, 2 + (data[1] & 0x7f)).toString()}`);
  socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
  process.exit(0);
});
