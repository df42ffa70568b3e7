// The one list of log levels (config::kLogLevels) is what the loggers accept, each with its own
// meaning; anything else is refused with the list.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "config/config.hpp"
#include "proxy/logging.hpp"

namespace faultline::proxy {
namespace {

TEST(Logging, EveryConfigLevelSetsThatLevel) {
  int rank = 0;
  for (auto level : config::kLogLevels) {
    ASSERT_NO_THROW(setup_logging(level, config::LogFormat::text)) << level;
    // Listed least severe first: spdlog's levels climb in the same order.
    EXPECT_EQ(static_cast<int>(log_proxy().level()), rank) << level;
    ++rank;
  }
  setup_logging("warn", config::LogFormat::text);
}

TEST(Logging, UnknownLevelIsRefusedWithTheList) {
  try {
    setup_logging("verbose", config::LogFormat::text);
    FAIL() << "accepted an unknown level";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("trace, debug, info, warn, error, critical, off"),
              std::string::npos)
        << e.what();
  }
  setup_logging("warn", config::LogFormat::text);
}

}  // namespace
}  // namespace faultline::proxy
