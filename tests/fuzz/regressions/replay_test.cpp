// Replays every checked-in fuzz input through the same harness functions the fuzzers run:
// the seed corpora (tests/fuzz/corpus/<target>/) and every past finding
// (tests/fuzz/regressions/<target>/, the reproducer files scripts/fuzz printed). A finding
// fixed once stays fixed; a seed that stops loading (or starts crashing) shows up here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <vector>

#include "tests/fuzz/fuzz_targets.hpp"
#ifndef FAULTLINE_FUZZ_DIR
#include "tests/support/paths.hpp"  // in the project's test tree; the fuzz build defines it
#endif

namespace faultline::fuzz {
namespace {

namespace fs = std::filesystem;

fs::path fuzz_dir() {
#ifdef FAULTLINE_FUZZ_DIR
  return FAULTLINE_FUZZ_DIR;
#else
  return fs::path(test::source_dir()) / "tests" / "fuzz";
#endif
}
using Target = std::function<void(const std::uint8_t*, std::size_t)>;

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Returns how many files were replayed.
std::size_t replay(const std::string& target, const Target& fn) {
  std::size_t n = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    fs::path dir = fuzz_dir() / kind / target;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      auto bytes = read_bytes(entry.path());
      ++n;
      try {
        fn(bytes.data(), bytes.size());
      } catch (const std::exception& e) {
        ADD_FAILURE() << entry.path() << ": " << e.what();
      }
    }
  }
  return n;
}

TEST(FuzzReplay, Config) {
  EXPECT_GT(replay("config", fuzz_config), 5u);
}
TEST(FuzzReplay, Units) {
  EXPECT_GT(replay("units", fuzz_units), 5u);
}
TEST(FuzzReplay, Frame) {
  EXPECT_GT(replay("frame", fuzz_frame), 3u);
}
TEST(FuzzReplay, ApiJson) {
  EXPECT_GT(replay("api_json", fuzz_api_json), 5u);
}

}  // namespace
}  // namespace faultline::fuzz
