// One test per fuzz finding, named after what was wrong, replaying the exact input through
// the code path it broke. The reproducer files themselves are under regressions/<target>/.
#include <gtest/gtest.h>

#include <string>

#include "config/units.hpp"
#include "control/server.hpp"
#include "api/toxic_json.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace faultline::fuzz {
namespace {

void run(void (*target)(const std::uint8_t*, std::size_t), const std::string& input) {
  target(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

// Sanity: the harness itself accepts an ordinary config and an ordinary toxic.
TEST(FuzzFindings, HarnessAcceptsOrdinaryInputs) {
  EXPECT_NO_THROW(run(fuzz_config,
                      "proxies: [{name: p, listen: 127.0.0.1:0, upstream: 127.0.0.1:1,\n"
                      "  faults: [{type: latency, latency: 10ms}]}]\n"));
  EXPECT_NO_THROW(run(
      fuzz_api_json,
      std::string(1, '\x02') + R"({"type":"latency","attributes":{"latency":100,"jitter":5}})"));
}

// fuzz_units, regressions/units/int128-overflow-in-fraction (UBSan: signed integer overflow at
// config/units.cpp split_number, `d.mantissa * 10` in the fraction loop). The integer part is
// capped at 2^100 but the up to 18 fraction digits then multiply it by up to 10^18: 2^160.
// Without a sanitizer the __int128 wraps, and a value of ~10^13 years is accepted as 0.625 s.
TEST(FuzzFindings, HugeDurationWithEighteenDecimalsIsRefusedNotWrapped) {
  EXPECT_EQ(config::parse_duration("340282366920938463464.000000000768211456s"), std::nullopt);
  EXPECT_EQ(config::parse_size("340282366920938463464.000000000768211456B"), std::nullopt);
  EXPECT_EQ(config::parse_rate("340282366920938463464.000000000768211456B/s"), std::nullopt);
  // Still exact where it should be.
  EXPECT_EQ(config::parse_duration("1.000000000000000000s"), std::chrono::seconds(1));
}

// fuzz_api_json, regressions/api_json/number-overflow-is-not-a-parse-error: nlohmann::json
// throws out_of_range (406 "number overflow parsing '1e400'"), not parse_error, for a number
// beyond double. parse_body lets it escape, and the API answers 500 "internal error" instead
// of the documented 400 "bad request body".
TEST(FuzzFindings, NumberBeyondDoubleIsABadBodyNotAnInternalError) {
  for (const char* body :
       {R"({"a":1e400})", R"({"attributes":{"latency":1e30300}})", R"([-1e99999])"}) {
    SCOPED_TRACE(body);
    try {
      api::parse_body(body);
      ADD_FAILURE() << "parsed";
    } catch (const api::HttpError& e) {
      EXPECT_EQ(e.status(), 400);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "escaped as " << e.what();
    }
  }
}

}  // namespace
}  // namespace faultline::fuzz
