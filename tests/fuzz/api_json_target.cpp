// Fuzz target: the control API's JSON bodies (api/toxic_json.hpp), the functions the HTTP
// handlers call on a request body. Documented failure: api::HttpError (a 4xx).
#include <string>

#include "faults/registry.hpp"
#include "control/server.hpp"
#include "api/toxic_json.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace faultline::fuzz {
namespace {

// What the server writes back (api_server.cpp dumps with the replacing error handler).
std::string dump(const api::ojson& j) {
  return j.dump(-1, ' ', false, api::json::error_handler_t::replace);
}

void check_error(const api::HttpError& e) {
  FUZZ_CHECK(e.status() >= 400 && e.status() < 500, e.what());
  // The error body is valid JSON whatever bytes the message holds.
  api::json body = api::json::parse(api::error_body(e.status(), e.what()));
  FUZZ_CHECK(body.at("status") == e.status(), e.what());
}

// A toxic the API accepted must come back from GET in a form POST accepts again, unchanged.
void round_trip(const config::FaultSpec& spec) {
  api::ojson shown = api::toxic_to_json(spec, builtin_registry());
  std::string text = dump(shown);
  config::FaultSpec again;
  try {
    again = api::toxic_from_json(api::parse_body(text), builtin_registry());
    api::check_toxic(again, builtin_registry());
  } catch (const api::HttpError& e) {
    finding(std::string("GET output refused by POST: ") + e.what() + " body " + text);
  }
  // The same toxic (key order aside: defaults are listed first until they are set).
  std::string text2 = dump(api::toxic_to_json(again, builtin_registry()));
  FUZZ_CHECK(api::json::parse(text2) == api::json::parse(text), text + " became " + text2);
}

}  // namespace

void fuzz_api_json(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const std::uint8_t mode = data[0] % 4;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    api::json j = api::parse_body(body);
    switch (mode) {
      case 0: {  // POST /proxies, /populate entries
        config::ProxyConfig pc = api::proxy_from_json(j, builtin_registry());
        FUZZ_CHECK(config::valid_name(pc.name), pc.name);
        FUZZ_CHECK(pc.upstream.port != 0, body);
        for (const auto& f : pc.faults)
          api::check_toxic(f, builtin_registry());
        (void)api::has_toxics(j);
        break;
      }
      case 1: {  // POST/PATCH /proxies/{name}
        control::ProxyPatch patch = api::patch_from_json(j);
        FUZZ_CHECK(!patch.upstream || patch.upstream->port != 0, body);
        break;
      }
      case 2: {  // POST /proxies/{name}/toxics
        config::FaultSpec spec = api::toxic_from_json(j, builtin_registry());
        FUZZ_CHECK(config::valid_name(spec.name), spec.name);
        api::check_toxic(spec, builtin_registry());
        round_trip(spec);
        break;
      }
      default: {  // POST/PATCH /proxies/{name}/toxics/{toxic} onto an existing latency toxic
        config::FaultSpec spec;
        spec.type = "latency";
        spec.name = "latency_downstream";
        spec.attributes["latency"] = config::AttrValue{"100ms", {}};
        api::merge_toxic(spec, j, builtin_registry());
        api::check_toxic(spec, builtin_registry());
        round_trip(spec);
        break;
      }
    }
  } catch (const api::HttpError& e) {
    check_error(e);
  }
}

}  // namespace faultline::fuzz
