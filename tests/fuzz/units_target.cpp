// Fuzz target: config/units.hpp (durations, sizes, rates) and endpoints.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/units.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace faultline::fuzz {

void fuzz_units(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const std::uint8_t mode = data[0] % 4;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string shown(text);
  switch (mode) {
    case 0: {
      auto d = config::parse_duration(text);
      if (!d) return;
      FUZZ_CHECK(d->count() >= 0, shown);
      FUZZ_CHECK(*d <= std::chrono::hours(24 * 100), shown);
      std::string f = config::format_duration(*d);
      auto again = config::parse_duration(f);
      FUZZ_CHECK(again.has_value(), shown + " -> " + f);
      FUZZ_CHECK(*again == *d, shown + " -> " + f);
      FUZZ_CHECK(config::format_duration(*again) == f, shown + " -> " + f);
      return;
    }
    case 1: {
      auto s = config::parse_size(text);
      if (!s) return;
      FUZZ_CHECK(*s <= (std::uint64_t{1} << 40), shown);
      std::string f = config::format_size(*s);
      auto again = config::parse_size(f);
      FUZZ_CHECK(again.has_value(), shown + " -> " + f);
      FUZZ_CHECK(*again == *s, shown + " -> " + f);
      return;
    }
    case 2: {
      auto r = config::parse_rate(text);
      if (!r) return;
      FUZZ_CHECK(std::isfinite(*r) && *r > 0 && *r <= std::ldexp(1.0, 40), shown);
      // There is no format_rate: write the value in B/s as a plain decimal and parse that.
      std::string f = fmt::format("{:.6f}", *r);
      while (f.back() == '0')
        f.pop_back();
      if (f.back() == '.') f.pop_back();
      f += "B/s";
      auto again = config::parse_rate(f);
      if (*r >= 1e-6) {  // below that the 6 decimals round it to 0: refused, correctly
        FUZZ_CHECK(again.has_value(), shown + " -> " + f);
        FUZZ_CHECK(std::fabs(*again - *r) <= 1e-6 + *r * 1e-12, shown + " -> " + f);
      }
      return;
    }
    default: {
      auto ep = config::parse_endpoint(text);
      if (!ep) return;
      std::string f = ep->to_string();
      auto again = config::parse_endpoint(f);
      FUZZ_CHECK(again.has_value(), shown + " -> " + f);
      FUZZ_CHECK(*again == *ep, shown + " -> " + f);
      return;
    }
  }
}

}  // namespace faultline::fuzz
