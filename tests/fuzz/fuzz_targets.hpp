// The fuzz targets' bodies, shared by the libFuzzer binaries (libfuzzer_entry.cpp) and the
// regression tests (regressions/), so that a finding replays through exactly the same code.
//
// Each function takes one input and either returns (the input was handled as documented:
// accepted, or refused with the documented error type) or throws/aborts (a finding). A
// property violation throws fuzz::Finding; any exception other than the documented one
// escapes on purpose: under libFuzzer it ends in std::terminate, which is reported as a crash
// with the input saved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace faultline::faults {
class FaultRegistry;
}

namespace faultline::fuzz {

// The built-in faults, registered once (config_target.cpp); every target compiles through it.
const faults::FaultRegistry& builtin_registry();

class Finding : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

[[noreturn]] inline void finding(const std::string& what) {
  throw Finding("fuzz finding: " + what);
}
#define FUZZ_CHECK(cond, what)                                                   \
  do {                                                                           \
    if (!(cond)) ::faultline::fuzz::finding(std::string(#cond) + ": " + (what)); \
  } while (0)

// YAML config: load_config_string either returns a Config or throws config::ConfigError; a
// loaded config's faults either compile through the fault registry (and instantiate) or
// throw config::ConfigError.
void fuzz_config(const std::uint8_t* data, std::size_t size);
// Units: byte 0 picks duration / size / rate / endpoint, the rest is the text. Parse, then
// format, then parse again gives the same value.
void fuzz_units(const std::uint8_t* data, std::size_t size);
// clients/frame.hpp: a byte stream cut into pieces (cuts derived from the input) decodes to
// the same frames and the same oversize verdict as a reference decoder reading it whole;
// FrameCounter agrees on frame boundaries; re-encoding the frames round-trips.
void fuzz_frame(const std::uint8_t* data, std::size_t size);
// api/toxic_json.hpp: byte 0 picks the document (proxy, proxy patch, toxic, toxic merge),
// the rest is an HTTP body. Each either succeeds or throws api::HttpError; a toxic that
// passes check_toxic survives a GET -> POST round trip (toxic_to_json, then parse again).
void fuzz_api_json(const std::uint8_t* data, std::size_t size);

}  // namespace faultline::fuzz
