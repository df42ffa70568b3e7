// Testcontainers' own Toxiproxy module (@testcontainers/toxiproxy) with Faultline's image in
// place of Toxiproxy's: the container starts (its wait strategy is GET /version on 8474), a
// proxy is created through the module (it picks listen 0.0.0.0:8666 and maps the port), bytes
// go through it, a toxic added through the module's client slows them down, and setEnabled
// turns the proxy off and on. The proxy's upstream is the API itself (127.0.0.1:8474 inside
// the container), the one server the image has. Run by tests/docker/toxiproxy_image.sh with
// FAULTLINE_IMAGE and TESTCONTAINERS_RYUK_DISABLED=true; exits 0 when every step behaved.
import { ToxiProxyContainer } from "@testcontainers/toxiproxy";

const image = process.env.FAULTLINE_IMAGE;
if (!image) throw new Error("FAULTLINE_IMAGE is not set");

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  console.log("testcontainers: ok  " + what);
}

// GET /version through the proxy: the time it took in ms, or the error.
async function throughProxy(host, port) {
  const t = performance.now();
  const res = await fetch(`http://${host}:${port}/version`, { signal: AbortSignal.timeout(5000) });
  const body = await res.json();
  if (res.status !== 200 || !body.version) throw new Error(`GET /version through the proxy: ${res.status}`);
  return performance.now() - t;
}

const started = performance.now();
const container = await new ToxiProxyContainer(image).start();
try {
  check(true, `the image started as a ToxiProxyContainer in ${Math.round(performance.now() - started)} ms`);
  const proxy = await container.createProxy({ name: "api_loop", upstream: "127.0.0.1:8474" });
  check(proxy.instance.listen === "0.0.0.0:8666", `createProxy: listen ${proxy.instance.listen}, mapped to ${proxy.host}:${proxy.port}`);
  const before = await throughProxy(proxy.host, proxy.port);
  check(before < 1000, `a request through the proxy (${before.toFixed(1)} ms)`);

  const toxic = await proxy.instance.addToxic({
    type: "latency",
    stream: "downstream",
    toxicity: 1,
    attributes: { latency: 300, jitter: 0 },
  });
  check(toxic.name === "latency_downstream" && toxic.attributes.latency === 300, "addToxic latency 300 ms");
  const slowed = await throughProxy(proxy.host, proxy.port);
  check(slowed >= 300, `the request is delayed (${slowed.toFixed(1)} ms)`);
  await toxic.remove();

  await proxy.setEnabled(false);
  let refused = false;
  try {
    await throughProxy(proxy.host, proxy.port);
  } catch {
    refused = true;
  }
  check(refused, "setEnabled(false): the proxy no longer answers");
  await proxy.setEnabled(true);
  const again = await throughProxy(proxy.host, proxy.port);
  check(again < 1000, `setEnabled(true): it answers again (${again.toFixed(1)} ms)`);

  const second = await container.createProxy({ name: "second", upstream: "127.0.0.1:8474" });
  check(second.instance.listen === "0.0.0.0:8667", `a second proxy gets the next port (${second.instance.listen})`);
} finally {
  await container.stop();
}
console.log("testcontainers: PASSED");
