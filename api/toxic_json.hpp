// The control API's JSON, in Toxiproxy's dialect: request bodies -> ProxyConfig / ProxyPatch /
// FaultSpec, and ProxyView / FaultSpec -> response bodies. Attribute values cross in
// Toxiproxy's units (latency in ms, slicer delay in µs, bandwidth rate in KB/s, sizes in
// bytes) and are kept in the FaultSpec as text with units ("100ms", "10us", "100KB/s"), the
// same text a YAML file holds; strings with units ("50ms", "64KiB") pass through unchanged.
// Every function throws HttpError(400, message) on a bad body.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "faults/registry.hpp"
#include "api/errors.hpp"
#include "control/server.hpp"

namespace faultline::api {

using control::ProxyPatch;
using control::ProxyView;

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// A request body as JSON; throws HttpError(400, "bad request body: ...") when it is not.
json parse_body(const std::string& body);

// `{"error": message, "status": status}`, Toxiproxy's error body.
std::string error_body(int status, std::string_view message);

// A key of a JSON object as Go's encoding/json finds it: the exact key first, else one that
// matches ignoring ASCII case. Null when absent (or when `object` is not an object).
const json* find_key(const json& object, std::string_view key);

// POST /proxies and each /populate entry: {name, listen, upstream, enabled=true} and, as an
// extension, `toxics` (a list of toxics). `listen` defaults to 127.0.0.1:0.
config::ProxyConfig proxy_from_json(const json& body, const faults::FaultRegistry& registry);
// Whether the body gave a `toxics` list (populate then replaces the proxy's faults).
bool has_toxics(const json& body);
// POST/PATCH /proxies/{name}: any of listen, upstream, enabled.
ProxyPatch patch_from_json(const json& body);

// POST /proxies/{name}/toxics: {name?, type, stream=downstream, toxicity=1, attributes}. The
// type must be known to the registry (else 400 "invalid toxic type"); the attributes are
// converted to text with units but not validated (compile the spec for that).
config::FaultSpec toxic_from_json(const json& body, const faults::FaultRegistry& registry);
// POST/PATCH /proxies/{name}/toxics/{toxic}: attributes are merged into the spec (a null
// value removes one), toxicity is kept when left out; name, type and stream are ignored.
void merge_toxic(config::FaultSpec& spec, const json& body, const faults::FaultRegistry& registry);
// Compiles a spec made from the API and turns a config::ConfigError into
// HttpError(400, "<attribute>: <what was expected>").
void check_toxic(const config::FaultSpec& spec, const faults::FaultRegistry& registry);

ojson toxic_to_json(const config::FaultSpec& spec, const faults::FaultRegistry& registry);
ojson proxy_to_json(const ProxyView& view, const faults::FaultRegistry& registry);

}  // namespace faultline::api
