/**
 * The part of wscat the runbook uses: `wscat --connect URL --execute MESSAGE --wait SECONDS`.
 * Opens the websocket, sends MESSAGE, prints the first answer as wscat does (`< pong`) and exits
 * 0; exits 1 when the connection fails or nothing answers within SECONDS (wscat itself would
 * wait out the seconds either way).
 */
const args = process.argv.slice(2);
const option = (...names) => {
  const i = args.findIndex((a) => names.includes(a));
  return i >= 0 ? args[i + 1] : undefined;
};
const url = option("--connect", "-c");
const message = option("--execute", "-x");
const seconds = Number(option("--wait", "-w") ?? 2);
if (!url) {
  console.error("wscat: --connect URL is required");
  process.exit(1);
}
const socket = new WebSocket(url);
const timer = setTimeout(() => {
  console.error(`error: no answer within ${seconds}s`);
  process.exit(1);
}, seconds * 1000);
socket.addEventListener("open", () => {
  if (message !== undefined) socket.send(message);
});
socket.addEventListener("message", (event) => {
  console.log(`< ${event.data}`);
  clearTimeout(timer);
  socket.close();
  process.exit(0);
});
socket.addEventListener("error", () => {
  console.error(`error: could not connect to ${url}`);
  process.exit(1);
});
