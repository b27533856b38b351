/**
 * The app's websocket endpoint (/ws), RFC 6455 by hand so the stand-in needs no package: the
 * handshake, then text frames. "ping" is answered "pong" (what the runbook's connectivity
 * check sends), anything else is echoed; a close frame is answered and the socket closed.
 */
import { createHash } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export function acceptWebsocket(req, socket) {
  const key = req.headers["sec-websocket-key"];
  if (req.headers.upgrade?.toLowerCase() !== "websocket" || !key) {
    socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    return;
  }
  const accept = createHash("sha1")
    .update(key + GUID)
    .digest("base64");
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  let buffered = Buffer.alloc(0);
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      const frame = readFrame(buffered);
      if (!frame) return;
      buffered = buffered.subarray(frame.length);
      if (frame.opcode === 0x8) {
        socket.end(frameOf(0x8, Buffer.alloc(0)));
        return;
      }
      if (frame.opcode === 0x9) socket.write(frameOf(0xa, frame.payload));
      if (frame.opcode === 0x1) {
        const text = frame.payload.toString("utf8");
        socket.write(frameOf(0x1, Buffer.from(text === "ping" ? "pong" : text)));
      }
    }
  });
}

/** One complete frame at the start of `data` (client frames are masked), or undefined. */
function readFrame(data) {
  if (data.length < 2) return undefined;
  const opcode = data[0] & 0x0f;
  const masked = (data[1] & 0x80) !== 0;
  let size = data[1] & 0x7f;
  let at = 2;
  if (size === 126) {
    if (data.length < 4) return undefined;
    size = data.readUInt16BE(2);
    at = 4;
  } else if (size === 127) {
    if (data.length < 10) return undefined;
    size = Number(data.readBigUInt64BE(2));
    at = 10;
  }
  const mask = masked ? data.subarray(at, at + 4) : undefined;
  if (masked) at += 4;
  if (data.length < at + size) return undefined;
  const payload = Buffer.from(data.subarray(at, at + size));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
  return { opcode, payload, length: at + size };
}

/** A server frame (unmasked, final). */
function frameOf(opcode, payload) {
  const head =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, payload.length])
      : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, payload]);
}
