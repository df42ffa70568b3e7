// Drives a running faultline's control API with the real Toxiproxy Node client
// (toxiproxy-node-client on npm), the way a team's test suite would. Not part of ctest: it
// needs the npm registry once. Run:
//   npm install --prefix /tmp/tpnc toxiproxy-node-client@4
//   faultline --config my.yaml --api 127.0.0.1:8474 &
//   NODE_PATH=/tmp/tpnc/node_modules node tests/integration/toxiproxy-node-client/check.mjs
// Exits 0 when every step behaved as it does against Toxiproxy itself.
import net from "node:net";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Toxiproxy } = require("toxiproxy-node-client");
const api = process.env.FAULTLINE_API_URL ?? "http://127.0.0.1:8474";
const toxiproxy = new Toxiproxy(api);

function assert(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok  " + what);
}

// An echo upstream in this process.
const echo = net.createServer((s) => s.pipe(s));
await new Promise((r) => echo.listen(0, "127.0.0.1", r));
const upstream = `127.0.0.1:${echo.address().port}`;

// One echo round trip on an open socket, in ms.
function roundTrip(sock) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    sock.once("data", () => resolve(performance.now() - t));
    sock.once("error", reject);
    sock.write("x");
  });
}

try {
  const version = await toxiproxy.getVersion();
  assert(JSON.parse(version).version.match(/^\d+\.\d+\.\d+$/), `version ${version}`);

  const proxy = await toxiproxy.createProxy({ name: "node_client", listen: "127.0.0.1:0", upstream });
  assert(/^127\.0\.0\.1:\d+$/.test(proxy.listen) && !proxy.listen.endsWith(":0"), `created, listening on ${proxy.listen}`);
  const all = await toxiproxy.getAll();
  assert(all.node_client && all.node_client.upstream === upstream, "getAll lists it");

  const [host, port] = proxy.listen.split(":");
  const sock = net.connect(Number(port), host);
  await new Promise((r) => sock.once("connect", r));
  assert((await roundTrip(sock)) < 100, "echo through the proxy");

  const toxic = await proxy.addToxic({ type: "latency", stream: "downstream", toxicity: 1, attributes: { latency: 200, jitter: 0 } });
  assert(toxic.name === "latency_downstream" && toxic.attributes.latency === 200, "latency toxic added");
  assert((await roundTrip(sock)) >= 200, "the open connection is delayed");
  const updated = await toxic.update({ attributes: { latency: 20 }, toxicity: 1 });
  assert(updated.attributes.latency === 20, "toxic updated");
  const fetched = await proxy.getToxic("latency_downstream");
  assert(fetched.attributes.latency === 20, "getToxic");
  await toxic.remove();
  assert((await roundTrip(sock)) < 100, "toxic removed: immediate echoes again");

  let conflict = null;
  try { await toxiproxy.createProxy({ name: "node_client", listen: "127.0.0.1:0", upstream }); } catch (e) { conflict = e; }
  assert(conflict && /409/.test(conflict.message), "duplicate proxy: 409");

  const disabled = await proxy.update({ enabled: false });
  assert(disabled.enabled === false, "disabled");
  await toxiproxy.reset();
  const back = await toxiproxy.get("node_client");
  assert(back.enabled === true, "reset re-enabled it");

  const populated = await toxiproxy.populate([{ name: "node_pop", listen: "127.0.0.1:0", upstream }]);
  assert(populated.node_pop && populated.node_pop.enabled, "populate");
  await populated.node_pop.remove();
  sock.destroy();
  await proxy.remove();
  let gone = null;
  try { await toxiproxy.get("node_client"); } catch (e) { gone = e; }
  assert(gone && /404/.test(gone.message), "deleted: 404");
  console.log("all checks passed");
} finally {
  echo.close();
}
