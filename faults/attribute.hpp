// A fault's attributes, declared once, in the fault's own file: what the YAML loader reads (the
// AttributeReader checks every read against it), what the API converts from and to Toxiproxy's
// numbers, what `faultline ctl` prints and what the tables of docs/faults.md and docs/api.md
// say (a unit test compares them). The common conditions every fault takes (after, duration)
// are declared here too: condition_attributes().
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::faults {

// What an attribute holds, as a YAML file writes it.
enum class AttrKind {
  duration,  // "250us", "100ms", "2s"
  size,      // bytes: "512", "64KiB", "1MB"
  rate,      // bytes per second: "500KiB/s", "1MB/s", "8Mbit/s"
  count,     // a plain number (connections, queue slots)
  choice,    // one of `choices`
};

// What a JSON number means for it in Toxiproxy's API.
enum class ApiUnit {
  ms,     // milliseconds
  us,     // microseconds (slicer's delay)
  bytes,  // bytes
  kbps,   // KB/s, 1 KB = 1000 B
  plain,  // the number itself (counts); choices are strings
};

// One attribute, declared where its fault is registered, e.g.
//   AttributeSpec::duration("latency", ApiUnit::ms, "the delay added").defaults_to("0s")
struct AttributeSpec {
  std::string name;
  AttrKind kind = AttrKind::count;
  ApiUnit api_unit = ApiUnit::plain;
  // The value when the attribute is left out, as YAML would write it ("0s", "64KiB",
  // "uniform"); empty: none (the fault works without it) or, when `required`, none allowed.
  std::string fallback;
  std::string description;           // one line
  std::vector<std::string> choices;  // AttrKind::choice: the words accepted
  bool required = false;
  // Toxiproxy's own toxics show this attribute with its default when it was left out.
  bool shown_when_absent = false;

  static AttributeSpec duration(std::string name, ApiUnit unit, std::string description);
  static AttributeSpec size(std::string name, std::string description);  // bytes in the API
  static AttributeSpec rate(std::string name, ApiUnit unit, std::string description);
  static AttributeSpec count(std::string name, std::string description);  // a plain number
  static AttributeSpec choice(std::string name, std::vector<std::string> choices,
                              std::string description);  // the first choice is the fallback

  AttributeSpec&& defaults_to(std::string value) &&;
  AttributeSpec&& mandatory() &&;
  AttributeSpec&& shown_by_toxiproxy() &&;
};

// "duration", "size", "rate", "count", "choice": the unit column of docs/faults.md.
std::string_view kind_name(AttrKind kind);
// The text a number in `unit` gets appended to become YAML text: "ms", "us", "KB/s", "".
std::string_view api_suffix(ApiUnit unit);

// A plain number from the API ("100", "1.5") as the text with units a YAML file holds
// ("100ms", "1.5us", "100KB/s", "100").
std::string text_from_api_number(ApiUnit unit, std::string_view number);
// The reverse: YAML text ("2s", "64KiB", "1MB/s") as a number in `unit` (2000 for ms, 65536,
// 1000 for KB/s). Nullopt when the text is not of that unit's kind (or `unit` is plain).
std::optional<double> api_number_from_text(ApiUnit unit, std::string_view text);

// The conditions every fault takes whose values are durations: `after` and `duration`
// (milliseconds in the API). `connections`, `toxicity` and `stream` are not numbers with units.
const std::vector<AttributeSpec>& condition_attributes();

// Checks a declaration list at registration: unique names, a fallback that parses as its kind,
// choices for a choice. Throws std::logic_error naming the fault: a programming error.
void check_declarations(std::string_view fault, const std::vector<AttributeSpec>& attributes);

}  // namespace faultline::faults
