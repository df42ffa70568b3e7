// Units of the configuration: durations (250us, 100ms, 2s), sizes (64KiB) and rates (1MB/s).
// Parsers return std::nullopt on anything malformed; the caller names the place and field.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::config {

using Duration = std::chrono::nanoseconds;

// "250us", "1.5ms", "2s", "1m", "1h" (units: ns, us, µs, ms, s, m, h). A unit is required
// except for a bare "0". Negative values and values over 100 days are refused.
std::optional<Duration> parse_duration(std::string_view text);

// Bytes: "100", "100B", "64KiB", "1.5MB" (KB/MB/GB = 1000^n, KiB/MiB/GiB = 1024^n).
// Negative, fractional bytes and sizes over 1 TiB are refused.
std::optional<std::uint64_t> parse_size(std::string_view text);

// Bytes per second: "1MB/s", "500KiB/s", "100B/s", "8Mbit/s" (bit rates divide by 8).
// The "/s" is required; zero and negative rates are refused (a rate of 0 would hang).
std::optional<double> parse_rate(std::string_view text);

// Human forms for logs and the API: "1.5s", "100ms", "250us", "64KiB", "1MB/s".
std::string format_duration(Duration d);
std::string format_size(std::uint64_t bytes);

inline constexpr std::string_view kDurationExpected =
    "a duration with a unit, e.g. 250us, 100ms, 2s";
inline constexpr std::string_view kSizeExpected = "a size in bytes, e.g. 512, 64KiB, 1MB";
inline constexpr std::string_view kRateExpected =
    "a rate above zero with a unit, e.g. 500KiB/s, 1MB/s, 8Mbit/s";

}  // namespace faultline::config
