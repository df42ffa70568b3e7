#include "config/units.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace faultline::config {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, AcceptsEveryUnit) {
  EXPECT_EQ(parse_duration("7ns"), Duration{7});
  EXPECT_EQ(parse_duration("250us"), 250us);
  EXPECT_EQ(parse_duration("250\xC2\xB5s"), 250us);
  EXPECT_EQ(parse_duration("250\xCE\xBCs"), 250us);
  EXPECT_EQ(parse_duration("100ms"), 100ms);
  EXPECT_EQ(parse_duration("2s"), 2s);
  EXPECT_EQ(parse_duration("3m"), 3min);
  EXPECT_EQ(parse_duration("1h"), 1h);
}

TEST(ParseDuration, AcceptsFractionsAndZero) {
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("0.25ms"), 250us);
  EXPECT_EQ(parse_duration("1.000000001s"), 1s + 1ns);
  EXPECT_EQ(parse_duration("0"), Duration{0});
  EXPECT_EQ(parse_duration("0s"), Duration{0});
  EXPECT_EQ(parse_duration("0.0ms"), Duration{0});
}

TEST(ParseDuration, CapsAtOneHundredDays) {
  EXPECT_EQ(parse_duration("2400h"), 2400h);
  EXPECT_EQ(parse_duration("2400.0h"), 2400h);
  EXPECT_FALSE(parse_duration("2400.000001h"));
  EXPECT_FALSE(parse_duration("2401h"));
  EXPECT_FALSE(parse_duration("99999999999999999999999999999999999999999h"));
  EXPECT_FALSE(parse_duration("1.00000000000000000000000000000000000001s"));
}

TEST(ParseDuration, RefusesMalformed) {
  for (const char* bad :
       {"",    "100", "fast",   "-5ms",  "+5ms",  "5 ms",  " 5ms", "5ms ", "5",    "00",
        "1.5", ".5s", "5.s",    "1e3ms", "nan",   "NaNs",  "inf",  "infs", "5sec", "5S",
        "5MS", "ms",  "0x10ms", "1,5s",  "0.5ns", "1..5s", "5mss", "5ms\n"}) {
    EXPECT_FALSE(parse_duration(bad)) << '"' << bad << '"';
  }
}

TEST(ParseSize, AcceptsUnits) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("100"), 100u);
  EXPECT_EQ(parse_size("100B"), 100u);
  EXPECT_EQ(parse_size("64KiB"), 65536u);
  EXPECT_EQ(parse_size("1KB"), 1000u);
  EXPECT_EQ(parse_size("1.5MB"), 1'500'000u);
  EXPECT_EQ(parse_size("2MiB"), 2u << 20);
  EXPECT_EQ(parse_size("1GB"), 1'000'000'000u);
  EXPECT_EQ(parse_size("0.5KiB"), 512u);
  EXPECT_EQ(parse_size("1024GiB"), std::uint64_t{1} << 40);
}

TEST(ParseSize, RefusesMalformedFractionalAndHuge) {
  for (const char* bad :
       {"", "-1", "-1KB", "1.5", "1.5B", "0.3KiB", "1025GiB", "1099511627777", "1e3", "KB", "1 KB",
        "1kb", "1k", "1K", "1TB", "1 B", "nan", "1.0001KB", "99999999999999999999999999999GiB"}) {
    EXPECT_FALSE(parse_size(bad)) << '"' << bad << '"';
  }
}

TEST(ParseRate, AcceptsByteAndBitRates) {
  EXPECT_DOUBLE_EQ(*parse_rate("100B/s"), 100);
  EXPECT_DOUBLE_EQ(*parse_rate("1MB/s"), 1e6);
  EXPECT_DOUBLE_EQ(*parse_rate("500KiB/s"), 500 * 1024);
  EXPECT_DOUBLE_EQ(*parse_rate("1GiB/s"), 1024.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(*parse_rate("8Mbit/s"), 1e6);
  EXPECT_DOUBLE_EQ(*parse_rate("8kbit/s"), 1e3);
  EXPECT_DOUBLE_EQ(*parse_rate("1Gbit/s"), 1.25e8);
  EXPECT_DOUBLE_EQ(*parse_rate("4bit/s"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_rate("0.5B/s"), 0.5);
}

TEST(ParseRate, RefusesZeroNegativeAndMissingPerSecond) {
  for (const char* bad :
       {"", "0B/s", "0.0MB/s", "-1MB/s", "1MB", "1MB/", "1MB/sec", "1/s", "/s", "MB/s", "1 MB/s",
        "1Mbps", "nanMB/s", "infB/s", "1Tbit/s", "1mbit/s", "2048GiB/s"}) {
    EXPECT_FALSE(parse_rate(bad)) << '"' << bad << '"';
  }
}

TEST(FormatDuration, PicksTheLargestShortUnit) {
  EXPECT_EQ(format_duration(Duration{0}), "0s");
  EXPECT_EQ(format_duration(100ms), "100ms");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(250us), "250us");
  EXPECT_EQ(format_duration(2s), "2s");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(2min), "2m");
  EXPECT_EQ(format_duration(90min), "90m");
  EXPECT_EQ(format_duration(3h), "3h");
  EXPECT_EQ(format_duration(Duration{7}), "7ns");
  EXPECT_EQ(format_duration(1s + 1ns), "1000000.001us");
  EXPECT_EQ(format_duration(1001us), "1.001ms");
  EXPECT_EQ(format_duration(1000100us), "1000.1ms");
  EXPECT_EQ(format_duration(-5ms), "-5ms");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (Duration d :
       {Duration{0}, Duration{1}, Duration{999}, Duration{1000}, Duration{1500},
        Duration{123456789}, Duration{1500000000}, Duration{61000000000}, Duration{3661000000000},
        Duration{3600000000001}, Duration{5400000000000}, Duration{8640000000000000}}) {
    EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
  }
}

TEST(FormatSize, PicksTheShortestExactForm) {
  EXPECT_EQ(format_size(0), "0B");
  EXPECT_EQ(format_size(100), "100B");
  EXPECT_EQ(format_size(1000), "1KB");
  EXPECT_EQ(format_size(1024), "1KiB");
  EXPECT_EQ(format_size(65536), "64KiB");
  EXPECT_EQ(format_size(1'000'000), "1MB");
  EXPECT_EQ(format_size(1'024'000), "1000KiB");
  EXPECT_EQ(format_size(1500), "1500B");
  EXPECT_EQ(format_size(std::uint64_t{1} << 40), "1024GiB");
}

TEST(FormatSize, RoundTripsThroughParse) {
  for (std::uint64_t n : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1000},
                          std::uint64_t{1023}, std::uint64_t{4096}, std::uint64_t{1'500'000},
                          std::uint64_t{3} << 30, std::uint64_t{1} << 40}) {
    EXPECT_EQ(parse_size(format_size(n)), n) << format_size(n);
  }
}

}  // namespace
}  // namespace faultline::config
