// The devnet image's health check: the chain's RPC answers `chain_getHeader` over a
// websocket (with the `ws` package Chopsticks itself depends on). Exit 0 when healthy.
const WebSocket = require("/opt/chopsticks/node_modules/ws");

const url = process.env.DEVNET_HEALTH_URL || "ws://127.0.0.1:9944";
const fail = (why) => {
  console.error(`unhealthy: ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail(`no answer from ${url} within 4 s`), 4000);
const ws = new WebSocket(url);
ws.on("error", (err) => fail(err.message));
ws.on("open", () =>
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "chain_getHeader", params: [] })),
);
ws.on("message", (data) => {
  const reply = JSON.parse(data.toString());
  if (reply.id !== 1) return;
  clearTimeout(timer);
  if (!reply.result) fail(JSON.stringify(reply.error));
  console.log(`healthy: best block #${parseInt(reply.result.number, 16)}`);
  ws.close();
  process.exit(0);
});
