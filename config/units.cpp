#include "config/units.hpp"

#include <fmt/format.h>
#include <array>
#include <cmath>
#include <limits>

namespace faultline::config {
namespace {

using i128 = __int128;

constexpr std::int64_t kNsPerUs = 1'000;
constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerS = 1'000'000'000;
constexpr std::int64_t kNsPerM = 60 * kNsPerS;
constexpr std::int64_t kNsPerH = 60 * kNsPerM;
constexpr std::int64_t kMaxDurationNs = 100 * 24 * kNsPerH;      // 100 days
constexpr std::uint64_t kMaxSizeBytes = std::uint64_t{1} << 40;  // 1 TiB
constexpr double kMaxRate = static_cast<double>(kMaxSizeBytes);  // 1 TiB/s

// Digits beyond this in a fraction are below any unit's resolution and would overflow.
constexpr std::size_t kMaxFractionDigits = 18;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A non-negative decimal "123" or "1.25": mantissa / 10^scale. No sign, no exponent, no
// leading or trailing dot, so "1e3", "+1", ".5" and "5." are all refused.
struct Decimal {
  i128 mantissa = 0;
  i128 scale = 1;  // 10^(fraction digits kept)
  bool fraction_truncated = false;
};

// Splits `text` into a decimal and the unit after it; nullopt when there is no number.
std::optional<std::pair<Decimal, std::string_view>> split_number(std::string_view text) {
  std::size_t i = 0;
  Decimal d;
  while (i < text.size() && is_digit(text[i])) {
    d.mantissa = d.mantissa * 10 + (text[i] - '0');
    // Anything this large is over every cap; stop before overflowing.
    if (d.mantissa > i128{1} << 100) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::size_t start = i;
    std::size_t kept = 0;
    while (i < text.size() && is_digit(text[i])) {
      // Bounded like the integer part, so the fraction can never overflow the __int128
      // (an 18-digit fraction on a 2^100 mantissa wrapped: a fuzz finding).
      if (kept < kMaxFractionDigits && d.mantissa <= i128{1} << 100) {
        d.mantissa = d.mantissa * 10 + (text[i] - '0');
        d.scale *= 10;
        ++kept;
      } else if (text[i] != '0') {
        d.fraction_truncated = true;
      }
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  return std::pair{d, text.substr(i)};
}

// value * unit when it is a whole number, else nullopt.
std::optional<i128> exact_product(const Decimal& d, i128 unit) {
  constexpr i128 kMax = ((i128{1} << 126) - 1) * 2 + 1;
  if (d.fraction_truncated || d.mantissa > kMax / unit) return std::nullopt;
  i128 scaled = d.mantissa * unit;
  if (scaled % d.scale != 0) return std::nullopt;
  return scaled / d.scale;
}

struct Unit {
  std::string_view name;
  std::int64_t factor;
};

constexpr std::array<Unit, 8> kDurationUnits{{
    {"ns", 1},
    {"us", kNsPerUs},
    {"\xC2\xB5s", kNsPerUs},  // µ MICRO SIGN
    {"\xCE\xBCs", kNsPerUs},  // μ GREEK SMALL LETTER MU, which looks the same
    {"ms", kNsPerMs},
    {"s", kNsPerS},
    {"m", kNsPerM},
    {"h", kNsPerH},
}};

constexpr std::int64_t kKB = 1000;
constexpr std::int64_t kKiB = 1024;

constexpr std::array<Unit, 7> kSizeUnits{{
    {"B", 1},
    {"KB", kKB},
    {"KiB", kKiB},
    {"MB", kKB* kKB},
    {"MiB", kKiB* kKiB},
    {"GB", kKB* kKB* kKB},
    {"GiB", kKiB* kKiB* kKiB},
}};

template <std::size_t N>
const Unit* find_unit(const std::array<Unit, N>& units, std::string_view name) {
  for (const Unit& u : units) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

// "1.5ms": at most three decimals, trailing zeros dropped; the caller checks that
// `value` is a multiple of unit/1000 so the output is exact.
std::string format_scaled(std::uint64_t value, std::uint64_t unit, std::string_view suffix) {
  std::uint64_t whole = value / unit;
  std::uint64_t rest = value % unit;
  if (rest == 0) return fmt::format("{}{}", whole, suffix);
  std::uint64_t milli = rest / (unit / 1000);
  std::string frac = fmt::format("{:03}", milli);
  while (!frac.empty() && frac.back() == '0')
    frac.pop_back();
  return fmt::format("{}.{}{}", whole, frac, suffix);
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration{0};
  auto split = split_number(text);
  if (!split) return std::nullopt;
  const Unit* unit = find_unit(kDurationUnits, split->second);
  if (unit == nullptr) return std::nullopt;
  auto ns = exact_product(split->first, unit->factor);  // sub-nanosecond values are refused
  if (!ns || *ns > kMaxDurationNs) return std::nullopt;
  return Duration{static_cast<std::int64_t>(*ns)};
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto split = split_number(text);
  if (!split) return std::nullopt;
  std::int64_t factor = 1;
  if (!split->second.empty()) {
    const Unit* unit = find_unit(kSizeUnits, split->second);
    if (unit == nullptr) return std::nullopt;
    factor = unit->factor;
  }
  auto bytes = exact_product(split->first, factor);
  if (!bytes || *bytes > static_cast<i128>(kMaxSizeBytes)) return std::nullopt;
  return static_cast<std::uint64_t>(*bytes);
}

std::optional<double> parse_rate(std::string_view text) {
  constexpr std::string_view kPerSecond = "/s";
  if (text.size() <= kPerSecond.size() || !text.ends_with(kPerSecond)) return std::nullopt;
  text.remove_suffix(kPerSecond.size());
  auto split = split_number(text);
  if (!split) return std::nullopt;
  std::string_view unit = split->second;
  double factor = 0;
  if (const Unit* u = find_unit(kSizeUnits, unit)) {
    factor = static_cast<double>(u->factor);
  } else if (unit == "bit") {
    factor = 1.0 / 8;
  } else if (unit == "kbit") {
    factor = 1e3 / 8;
  } else if (unit == "Mbit") {
    factor = 1e6 / 8;
  } else if (unit == "Gbit") {
    factor = 1e9 / 8;
  } else {
    return std::nullopt;
  }
  double value =
      static_cast<double>(split->first.mantissa) / static_cast<double>(split->first.scale) * factor;
  if (!std::isfinite(value) || value <= 0 || value > kMaxRate) return std::nullopt;
  return value;
}

std::string format_duration(Duration d) {
  std::int64_t ns = d.count();
  if (ns == 0) return "0s";
  if (ns < 0) {
    // Only reachable for computed values; INT64_MIN has no positive counterpart.
    if (ns == std::numeric_limits<std::int64_t>::min()) return fmt::format("{}ns", ns);
    return fmt::format("-{}", format_duration(Duration{-ns}));
  }
  auto v = static_cast<std::uint64_t>(ns);
  // Hours and minutes only when whole: "90m" reads better than "1.5h".
  if (v % kNsPerH == 0) return fmt::format("{}h", v / kNsPerH);
  if (v % kNsPerM == 0) return fmt::format("{}m", v / kNsPerM);
  // Otherwise the largest of s/ms/us with at most three exact decimals.
  for (auto [unit, suffix] : {std::pair<std::uint64_t, std::string_view>{kNsPerS, "s"},
                              {kNsPerMs, "ms"},
                              {kNsPerUs, "us"}}) {
    if (v >= unit && v % (unit / 1000) == 0) return format_scaled(v, unit, suffix);
  }
  return fmt::format("{}ns", v);
}

std::string format_size(std::uint64_t bytes) {
  if (bytes == 0) return "0B";
  // The exact form with the smallest number; binary units win ties ("1KiB" over "1.024KB"
  // never arises because only whole multiples are considered).
  std::uint64_t best_value = bytes;
  std::string_view best_unit = "B";
  for (const Unit& u : kSizeUnits) {
    auto factor = static_cast<std::uint64_t>(u.factor);
    if (bytes % factor == 0 && bytes / factor < best_value) {
      best_value = bytes / factor;
      best_unit = u.name;
    }
  }
  return fmt::format("{}{}", best_value, best_unit);
}

}  // namespace faultline::config
