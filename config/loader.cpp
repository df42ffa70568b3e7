// The YAML loader: yaml-cpp does the syntax, this file does everything yaml-cpp lets through
// silently (unknown keys, duplicate keys) and turns each value into its typed field, with the
// position of the node that was wrong.
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <span>
#include <sstream>
#include <unordered_map>

#include "config/config.hpp"
#include "config/loops.hpp"

namespace faultline::config {
namespace {

// With kMaxNodes below, this bounds the work before the first error: a YAML scan of 4 MiB is
// ~0.1 s. Real configs are a few KiB.
constexpr std::size_t kMaxInputBytes = std::size_t{4} << 20;  // 4 MiB
// yaml-cpp recurses once per nesting level; real configs are < 10 deep.
constexpr int kMaxDepth = 64;
// Keys, values, lists and mappings of the document. A proxy with five faults is about 50:
// 2 000 such proxies fit.
constexpr std::size_t kMaxNodes = 100'000;

using Keys = std::span<const std::string_view>;

constexpr std::string_view kTopKeys[] = {"seed", "api", "log", "proxies"};
constexpr std::string_view kApiKeys[] = {"listen", "token"};
constexpr std::string_view kLogKeys[] = {"level", "format"};
constexpr std::string_view kProxyKeys[] = {
    "name", "listen", "upstream", "enabled", "connect_timeout", "on_upstream_failure", "faults"};
constexpr std::string_view kConnectionKeys[] = {"first", "every", "nth"};

bool contains(Keys keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string join(Keys keys) {
  return fmt::format("{}", fmt::join(keys, ", "));
}

// ---------------------------------------------------------------------------------------
// Nesting pre-scan. yaml-cpp 0.7 stops at 2000 levels with an unhelpful "bad file" at 1:1,
// after recursing that deep; refuse far earlier, with a position. This is an estimate
// (indentation levels + "- " prefixes + open flow brackets, skipping quotes, comments and
// block scalars) that can only overcount, and no sane config comes near the limit.

struct DeepSpot {
  int line;
  int column;
};

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// Can a flow collection or a quoted scalar start after `prev`?
bool token_start(std::string_view line, std::size_t i, bool in_flow) {
  if (i == 0) return true;
  char prev = line[i - 1];
  if (is_blank(prev)) return true;
  return in_flow && (prev == '[' || prev == '{' || prev == ',' || prev == ':');
}

// `first_tab`, when given, gets the first tab used as indentation in block context (outside
// quotes, flow collections and block scalars): yaml-cpp then says "illegal block entry" or the
// like, at the next token, without naming the tab.
std::optional<DeepSpot> find_too_deep(std::string_view text,
                                      std::optional<DeepSpot>* first_tab = nullptr) {
  std::vector<std::size_t> indents;
  int flow = 0;
  char quote = 0;
  long block_scalar_parent = -1;  // indentation of the line that opened a | or > scalar
  int depth = 0;                  // block nesting of the last line outside flow and quotes
  int line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    start = end + 1;
    ++line_no;

    std::size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ')
      ++indent;
    bool blank = indent == line.size() || line[indent] == '#';
    if (block_scalar_parent >= 0) {
      if (blank || static_cast<long>(indent) > block_scalar_parent) continue;
      block_scalar_parent = -1;
    }
    std::size_t i = 0;
    if (quote == 0 && flow == 0) {
      if (blank) continue;
      if (line[indent] == '\t' && first_tab != nullptr && !*first_tab) {
        std::size_t rest = indent;
        while (rest < line.size() && is_blank(line[rest]))
          ++rest;
        if (rest < line.size() && line[rest] != '#') {
          *first_tab = DeepSpot{line_no, static_cast<int>(indent) + 1};
        }
      }
      while (!indents.empty() && indents.back() > indent)
        indents.pop_back();
      if (indents.empty() || indents.back() < indent) indents.push_back(indent);
      i = indent;
      // "- - - x" nests once per dash.
      int dashes = 0;
      while (i < line.size() && (line[i] == '-' || line[i] == '?') &&
             (i + 1 == line.size() || is_blank(line[i + 1]))) {
        if (static_cast<int>(indents.size()) + ++dashes > kMaxDepth) {
          return DeepSpot{line_no, static_cast<int>(i) + 1};
        }
        i += 1;
        while (i < line.size() && is_blank(line[i]))
          ++i;
      }
      depth = static_cast<int>(indents.size()) + dashes;
      if (depth > kMaxDepth) return DeepSpot{line_no, static_cast<int>(i) + 1};
    }
    for (; i < line.size(); ++i) {
      char c = line[i];
      if (quote == '"') {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          quote = 0;
        }
        continue;
      }
      if (quote == '\'') {
        if (c == '\'') {
          if (i + 1 < line.size() && line[i + 1] == '\'') {
            ++i;
          } else {
            quote = 0;
          }
        }
        continue;
      }
      if (c == '#' && (i == 0 || is_blank(line[i - 1]))) break;
      if ((c == '"' || c == '\'') && token_start(line, i, flow > 0)) {
        quote = c;
        continue;
      }
      if ((c == '[' || c == '{') && (flow > 0 || token_start(line, i, false))) {
        ++flow;
        if (depth + flow > kMaxDepth) return DeepSpot{line_no, static_cast<int>(i) + 1};
      } else if ((c == ']' || c == '}') && flow > 0) {
        --flow;
      }
    }
    // "key: |", "- >-", "key: |2": the following more-indented lines are text.
    if (quote == 0 && flow == 0) {
      std::string_view trimmed = line.substr(0, i);
      while (!trimmed.empty() && is_blank(trimmed.back()))
        trimmed.remove_suffix(1);
      while (!trimmed.empty() && (trimmed.back() == '+' || trimmed.back() == '-' ||
                                  (trimmed.back() >= '1' && trimmed.back() <= '9'))) {
        trimmed.remove_suffix(1);
      }
      if (!trimmed.empty() && (trimmed.back() == '|' || trimmed.back() == '>') &&
          (trimmed.size() == 1 || is_blank(trimmed[trimmed.size() - 2]))) {
        block_scalar_parent = static_cast<long>(indent);
      }
    }
  }
  return std::nullopt;
}

// Binary input. yaml-cpp guesses the encoding from the first bytes, so a NUL there turns the
// file into UTF-16/32 and the message into mojibake; other control characters give
// "unknown token" somewhere. YAML is text: name the byte and where it is. A file that starts
// with a UTF-16 or UTF-32 byte order mark is left to yaml-cpp, which decodes it.
struct BadByte {
  int line;
  int column;
  unsigned char byte;
};

std::optional<BadByte> find_binary(std::string_view text) {
  auto starts = [&](std::string_view bom) { return text.substr(0, bom.size()) == bom; };
  using namespace std::string_view_literals;
  if (starts("\xFF\xFE"sv) || starts("\xFE\xFF"sv) || starts("\x00\x00\xFE\xFF"sv)) {
    return std::nullopt;
  }
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      line_start = i + 1;
    } else if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
      return BadByte{line, static_cast<int>(i - line_start) + 1, c};
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------

// User text as it goes into a message: one line, bounded, quotes and control characters
// escaped.
std::string shown(std::string_view text) {
  constexpr std::size_t kMaxShown = 60;
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxShown) {
    // Cut at a character boundary, not inside a UTF-8 sequence.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80)
      out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  return out;
}

// Finds the start of a second document without building it. YAML::LoadAll is not used: in
// yaml-cpp 0.7 it loops for ever, allocating, on a stray "," at the top level.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Bounded work before the first error. yaml-cpp builds the whole node tree before the loader
// sees any of it, at about 1 us of CPU per node: a 15 MB flow list (5 million nodes) took 12 s
// to be refused at its first element. This pass counts the first document's nodes from the
// parser's events (no tree) and stops at the one past the cap, with its position.
struct TooManyNodes {
  YAML::Mark mark;
};

class NodeCensus : public YAML::EventHandler {
 public:
  explicit NodeCensus(std::size_t limit) : limit_(limit) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { count(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { count(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    count(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    count(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    count(mark);
  }
  void OnMapEnd() override {}

 private:
  void count(const YAML::Mark& mark) {
    if (++nodes_ > limit_) throw TooManyNodes{mark};
  }
  std::size_t limit_;
  std::size_t nodes_ = 0;
};

void count_nodes(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  NodeCensus census(kMaxNodes);
  parser.HandleNextDocument(census);
}

std::optional<YAML::Mark> second_document(const std::string& text) {
  // A second document needs a marker at the start of a line; skip the second parse if none.
  // `line` is the marker with its newline: no string is built (g++ 12 warns, wrongly, of an
  // overlapping memcpy in "\n" + marker at -O3).
  auto marker_at = [&](std::string_view line) {
    return text.starts_with(line.substr(1)) || text.find(line) != std::string::npos;
  };
  if (!marker_at("\n---") && !marker_at("\n...")) return std::nullopt;
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts handler;
  if (!parser.HandleNextDocument(handler) || !parser.HandleNextDocument(handler)) {
    return std::nullopt;
  }
  return handler.starts.size() >= 2 ? handler.starts[1] : YAML::Mark{};
}

// Where a proxy's name and listen address were written, for the checks across proxies.
struct ProxyPositions {
  SourcePos name;
  SourcePos listen;
  SourcePos upstream;
};

// One key: value pair of a mapping, checked for being a scalar key seen once.
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class Loader {
 public:
  explicit Loader(std::string source) : source_(std::move(source)) {}

  Config load(std::string_view yaml);

 private:
  SourcePos pos_of(const YAML::Mark& mark) const {
    if (mark.is_null() || mark.line < 0) return SourcePos{source_, 1, 1};
    return SourcePos{source_, mark.line + 1, mark.column + 1};
  }
  SourcePos pos_of(const YAML::Node& node) const { return pos_of(node.Mark()); }
  // A null value ("key:" with nothing after it) is marked at the next token; the key is
  // where the reader looks.
  SourcePos pos_of(const Entry& e) const { return pos_of(e.value.IsNull() ? e.key_node : e.value); }

  [[noreturn]] void fail(SourcePos pos, std::string field, std::string expected) const {
    throw ConfigError(std::move(pos), std::move(field), std::move(expected));
  }

  // "got "100"", "got a list", ... for the end of an error message.
  static std::string got(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return "got nothing";
      case YAML::NodeType::Sequence:
        return "got a list";
      case YAML::NodeType::Map:
        return "got a mapping";
      case YAML::NodeType::Scalar:
        break;
    }
    return fmt::format("got \"{}\"", shown(node.Scalar()));
  }

  [[noreturn]] void fail_value(const Entry& e, const std::string& field,
                               std::string_view expected) const {
    fail(pos_of(e), field, fmt::format("expected {}, {}", expected, got(e.value)));
  }

  // The pairs of `map`, in order. Unknown keys (when `allowed` is given) and repeated keys
  // are errors at the key.
  std::vector<Entry> entries(const YAML::Node& map, const std::string& field,
                             std::optional<Keys> allowed) const {
    std::vector<Entry> out;
    std::unordered_map<std::string, std::size_t> index;  // key -> position in `out`
    for (const auto& pair : map) {
      // Copies: yaml-cpp's iterators hand out temporaries, and Node is a cheap handle.
      YAML::Node key = pair.first;
      std::string key_field = field.empty() ? std::string("key") : field;
      if (!key.IsScalar()) {
        fail(pos_of(key), key_field, fmt::format("expected a plain key, {}", got(key)));
      }
      std::string name = key.Scalar();
      std::string child = field.empty() ? shown(name) : fmt::format("{}.{}", field, shown(name));
      if (allowed && !contains(*allowed, name)) {
        fail(pos_of(key), child, fmt::format("unknown key, expected one of {}", join(*allowed)));
      }
      if (auto [seen, inserted] = index.emplace(name, out.size()); !inserted) {
        SourcePos first = pos_of(out[seen->second].key_node);
        fail(pos_of(key), child,
             fmt::format("duplicate key, expected each key once (first at {}:{})", first.line,
                         first.column));
      }
      out.push_back(Entry{std::move(name), key, pair.second});
    }
    return out;
  }

  static const Entry* find(const std::vector<Entry>& es, std::string_view key) {
    for (const Entry& e : es) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }

  std::string scalar(const Entry& e, const std::string& field, std::string_view expected) const {
    if (!e.value.IsScalar()) fail_value(e, field, expected);
    return e.value.Scalar();
  }

  bool boolean(const Entry& e, const std::string& field) const {
    constexpr std::string_view kExpected = "true or false";
    bool b = false;
    if (!e.value.IsScalar() || !YAML::convert<bool>::decode(e.value, b)) {
      fail_value(e, field, kExpected);
    }
    return b;
  }

  Duration duration(const Entry& e, const std::string& field, bool positive) const {
    constexpr std::string_view kPositive =
        "a duration above zero with a unit, e.g. 250us, 100ms, 2s";
    std::string_view expected = positive ? kPositive : kDurationExpected;
    auto d = parse_duration(scalar(e, field, expected));
    if (!d || (positive && d->count() == 0)) fail_value(e, field, expected);
    return *d;
  }

  Endpoint endpoint(const Entry& e, const std::string& field, bool port_required) const {
    constexpr std::string_view kExpected =
        "a HOST:PORT with a port 0..65535, e.g. 127.0.0.1:8474, [::1]:7000, :7000";
    constexpr std::string_view kExpectedDial =
        "a HOST:PORT with a port 1..65535, e.g. 127.0.0.1:7001, echo-server:7001";
    std::string_view expected = port_required ? kExpectedDial : kExpected;
    auto ep = parse_endpoint(scalar(e, field, expected));
    if (!ep || (port_required && ep->port == 0)) fail_value(e, field, expected);
    return *ep;
  }

  std::uint64_t positive_integer(const Entry& e, const std::string& field) const {
    constexpr std::string_view kExpected = "a whole number above zero";
    std::string text = scalar(e, field, kExpected);
    std::uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || n == 0) {
      fail_value(e, field, kExpected);
    }
    return n;
  }

  // The entry for `key`; its absence is an error at the mapping.
  const Entry& required(const std::vector<Entry>& es, std::string_view key, const YAML::Node& map,
                        const std::string& field, std::string_view expected) const {
    const Entry* e = find(es, key);
    if (e == nullptr) {
      fail(pos_of(map), fmt::format("{}.{}", field, key),
           fmt::format("expected {} (missing)", expected));
    }
    return *e;
  }

  ApiConfig api(const Entry& e) const;
  LogConfig log(const Entry& e) const;
  ProxyConfig proxy(const YAML::Node& node, const std::string& field,
                    ProxyPositions& positions) const;
  FaultSpec fault(const YAML::Node& node, const std::string& field) const;
  ConnectionMatch connections(const Entry& e, const std::string& field) const;
  void check_proxies(const std::vector<ProxyConfig>& proxies,
                     const std::vector<ProxyPositions>& positions) const;

  std::string source_;
};

Config Loader::load(std::string_view yaml) {
  if (yaml.size() > kMaxInputBytes) {
    fail(SourcePos{source_, 0, 0}, "file",
         fmt::format("expected a file of at most 4 MiB, got {} bytes", yaml.size()));
  }
  if (auto bad = find_binary(yaml)) {
    fail(SourcePos{source_, bad->line, bad->column},
         bad->byte == 0 ? std::string("a NUL byte")
                        : fmt::format("a control character (byte 0x{:02x})", bad->byte),
         "expected YAML text, this looks like a binary file");
  }
  std::optional<DeepSpot> tab;
  if (auto deep = find_too_deep(yaml, &tab)) {
    fail(SourcePos{source_, deep->line, deep->column}, "",
         fmt::format("expected nesting at most {} levels deep", kMaxDepth));
  }
  std::string text(yaml);
  YAML::Node root;
  std::optional<YAML::Mark> second;
  try {
    count_nodes(text);
    root = YAML::Load(text);
    second = second_document(text);
  } catch (const TooManyNodes& e) {
    fail(pos_of(e.mark), "",
         fmt::format("expected at most {} YAML nodes (keys, values, lists, mappings)", kMaxNodes));
  } catch (const YAML::DeepRecursion& e) {
    fail(pos_of(e.mark), "", fmt::format("expected nesting at most {} levels deep", kMaxDepth));
  } catch (const YAML::ParserException& e) {
    // A tab indenting a line at or before the error is almost always the cause.
    if (tab && (e.mark.is_null() || tab->line <= e.mark.line + 1)) {
      fail(SourcePos{source_, tab->line, tab->column}, "a tab character",
           "YAML indents with spaces");
    }
    fail(pos_of(e.mark), "", fmt::format("expected valid YAML, {}", e.msg));
  }
  if (second) fail(pos_of(*second), "", "expected a single YAML document, got a second one");
  constexpr std::string_view kExpectedTop = "expected a mapping with a `proxies` list";
  if (!root.IsMap()) fail(pos_of(root), "", fmt::format("{}, {}", kExpectedTop, got(root)));

  Config config;
  config.source = source_;
  auto top = entries(root, "", kTopKeys);

  if (const Entry* e = find(top, "seed")) {
    constexpr std::string_view kExpected = "a whole number 0..18446744073709551615";
    std::string text = scalar(*e, "seed", kExpected);
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), config.seed);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
      fail_value(*e, "seed", kExpected);
    }
    config.seed_given = true;
  }
  if (const Entry* e = find(top, "api")) config.api = api(*e);
  if (const Entry* e = find(top, "log")) config.log = log(*e);

  // No proxies is a normal start when the API is on: they come through it (Toxiproxy's
  // usual way). With the API off such a file has nothing to serve.
  const Entry* proxies = find(top, "proxies");
  constexpr std::string_view kExpectedProxies = "a list of proxies";
  if (proxies != nullptr && !proxies->value.IsNull() && !proxies->value.IsSequence()) {
    fail_value(*proxies, "proxies", kExpectedProxies);
  }
  if ((proxies == nullptr || proxies->value.size() == 0) && !config.api.enabled) {
    constexpr std::string_view kNothing =
        "expected at least one proxy when `api` is off (nothing to serve)";
    if (proxies != nullptr) fail(pos_of(*proxies), "proxies", std::string(kNothing));
    fail(pos_of(*find(top, "api")), "proxies", fmt::format("{} (missing)", kNothing));
  }
  std::vector<ProxyPositions> positions;
  if (proxies != nullptr && proxies->value.IsSequence()) {
    for (const YAML::Node& node : proxies->value) {
      std::string field = fmt::format("proxies[{}]", config.proxies.size());
      config.proxies.push_back(proxy(node, field, positions.emplace_back()));
    }
  }
  check_proxies(config.proxies, positions);
  return config;
}

ApiConfig Loader::api(const Entry& e) const {
  ApiConfig api;
  if (e.value.IsScalar() || e.value.IsNull()) {
    // `api: off` / `api: false` disables; `api: on` keeps the defaults.
    bool on = false;
    if (!e.value.IsScalar() || !YAML::convert<bool>::decode(e.value, on)) {
      fail_value(e, "api", "off, or a mapping with listen and token");
    }
    api.enabled = on;
    return api;
  }
  if (!e.value.IsMap()) fail_value(e, "api", "off, or a mapping with listen and token");
  for (const Entry& kv : entries(e.value, "api", kApiKeys)) {
    if (kv.key == "listen") api.listen = endpoint(kv, "api.listen", false);
    if (kv.key == "token") api.token = scalar(kv, "api.token", "a token string");
  }
  return api;
}

LogConfig Loader::log(const Entry& e) const {
  LogConfig log;
  if (!e.value.IsMap()) fail_value(e, "log", "a mapping with level and format");
  for (const Entry& kv : entries(e.value, "log", kLogKeys)) {
    if (kv.key == "level") {
      std::string expected = fmt::format("one of {}", join(kLogLevels));
      std::string level = scalar(kv, "log.level", expected);
      if (!contains(kLogLevels, level)) fail_value(kv, "log.level", expected);
      log.level = level;
    }
    if (kv.key == "format") {
      std::string format = scalar(kv, "log.format", "text or json");
      if (format == "text") {
        log.format = LogFormat::text;
      } else if (format == "json") {
        log.format = LogFormat::json;
      } else {
        fail_value(kv, "log.format", "text or json");
      }
    }
  }
  return log;
}

ProxyConfig Loader::proxy(const YAML::Node& node, const std::string& field,
                          ProxyPositions& positions) const {
  if (!node.IsMap()) {
    fail(pos_of(node), field,
         fmt::format("expected a mapping with name, listen and upstream, {}", got(node)));
  }
  ProxyConfig p;
  p.pos = pos_of(node);
  auto es = entries(node, field, kProxyKeys);
  auto sub = [&](std::string_view key) { return fmt::format("{}.{}", field, key); };

  const Entry& name = required(es, "name", node, field, kNameExpected);
  p.name = scalar(name, sub("name"), kNameExpected);
  if (!valid_name(p.name)) fail_value(name, sub("name"), kNameExpected);
  positions.name = pos_of(name);
  const Entry& listen = required(es, "listen", node, field, "a HOST:PORT");
  p.listen = endpoint(listen, sub("listen"), false);
  positions.listen = pos_of(listen);
  const Entry& upstream = required(es, "upstream", node, field, "a HOST:PORT");
  p.upstream = endpoint(upstream, sub("upstream"), true);
  positions.upstream = pos_of(upstream);
  if (const Entry* e = find(es, "enabled")) p.enabled = boolean(*e, sub("enabled"));
  if (const Entry* e = find(es, "connect_timeout")) {
    p.connect_timeout = duration(*e, sub("connect_timeout"), true);
  }
  if (const Entry* e = find(es, "on_upstream_failure")) {
    std::string text = scalar(*e, sub("on_upstream_failure"), "reset or close");
    if (text == "reset") {
      p.on_upstream_failure = UpstreamFailure::reset;
    } else if (text == "close") {
      p.on_upstream_failure = UpstreamFailure::close;
    } else {
      fail_value(*e, sub("on_upstream_failure"), "reset or close");
    }
  }
  if (const Entry* e = find(es, "faults"); e != nullptr && !e->value.IsNull()) {
    if (!e->value.IsSequence()) fail_value(*e, sub("faults"), "a list of faults");
    std::unordered_map<std::string, std::string> fault_names;  // name -> field of its fault
    std::size_t index = 0;
    for (const YAML::Node& f : e->value) {
      std::string fault_field = fmt::format("{}.faults[{}]", field, index++);
      FaultSpec spec = fault(f, fault_field);
      if (auto [it, inserted] = fault_names.emplace(spec.name, spec.field); !inserted) {
        // Point at the `name` key when written, else at the fault that defaulted to it.
        SourcePos where = spec.pos;
        for (const auto& kv : f) {
          if (kv.first.IsScalar() && kv.first.Scalar() == "name") where = pos_of(kv.second);
        }
        fail(where, fault_field + ".name",
             fmt::format("expected a unique fault name, \"{}\" is already used by {}",
                         shown(spec.name), it->second));
      }
      p.faults.push_back(std::move(spec));
    }
  }
  return p;
}

FaultSpec Loader::fault(const YAML::Node& node, const std::string& field) const {
  if (!node.IsMap()) {
    fail(pos_of(node), field, fmt::format("expected a mapping with a `type`, {}", got(node)));
  }
  FaultSpec f;
  f.pos = pos_of(node);
  f.field = field;
  auto sub = [&](std::string_view key) { return fmt::format("{}.{}", field, key); };
  // Attributes are checked by the fault registry, so any key is accepted here.
  auto es = entries(node, field, std::nullopt);

  constexpr std::string_view kTypeExpected = "a fault type, e.g. latency, reset_peer";
  const Entry& type = required(es, "type", node, field, kTypeExpected);
  f.type = scalar(type, sub("type"), kTypeExpected);
  if (f.type.empty()) fail_value(type, sub("type"), kTypeExpected);

  std::string stream_text = "downstream";
  const Entry* toxicity = nullptr;
  const Entry* name = nullptr;
  for (const Entry& e : es) {
    std::string k = sub(e.key);
    if (e.key == "type") continue;
    if (e.key == "name") {
      name = &e;
    } else if (e.key == "stream") {
      constexpr std::string_view kExpected = "upstream, downstream or both";
      stream_text = scalar(e, k, kExpected);
      auto stream = parse_stream(stream_text);
      if (!stream) fail_value(e, k, kExpected);
      f.stream = *stream;
    } else if (e.key == "toxicity" || e.key == "probability") {
      if (toxicity != nullptr) {
        SourcePos first = pos_of(toxicity->key_node);
        fail(pos_of(e.key_node), k,
             fmt::format("duplicate key, expected only one of toxicity and probability, its alias "
                         "(first at {}:{})",
                         first.line, first.column));
      }
      toxicity = &e;
      constexpr std::string_view kExpected = "a probability from 0 to 1, e.g. 0.25";
      std::string text = scalar(e, k, kExpected);
      double v = -1;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
          !std::isfinite(v) || v < 0 || v > 1) {
        fail_value(e, k, kExpected);
      }
      f.toxicity = v;
    } else if (e.key == "after") {
      f.after = duration(e, k, false);
    } else if (e.key == "duration") {
      f.duration = duration(e, k, true);
    } else if (e.key == "connections") {
      f.connections = connections(e, k);
    } else {
      if (!e.value.IsScalar()) fail_value(e, k, "a scalar attribute value");
      f.attributes[e.key] = AttrValue{e.value.Scalar(), pos_of(e.value)};
    }
  }
  if (name != nullptr) {
    f.name = scalar(*name, sub("name"), kNameExpected);
    if (!valid_name(f.name)) fail_value(*name, sub("name"), kNameExpected);
  } else {
    f.name = fmt::format("{}_{}", f.type, stream_text);  // Toxiproxy's default naming
  }
  return f;
}

ConnectionMatch Loader::connections(const Entry& e, const std::string& field) const {
  constexpr std::string_view kExpected = "all, or a mapping with one of first, every, nth: N";
  if (e.value.IsScalar()) {
    if (e.value.Scalar() != "all") fail_value(e, field, kExpected);
    return ConnectionMatch{};
  }
  if (!e.value.IsMap()) fail_value(e, field, kExpected);
  auto es = entries(e.value, field, kConnectionKeys);
  if (es.size() != 1) fail_value(e, field, kExpected);
  const Entry& kv = es.front();
  ConnectionMatch m;
  m.kind = kv.key == "first"   ? ConnectionMatch::Kind::first
           : kv.key == "every" ? ConnectionMatch::Kind::every
                               : ConnectionMatch::Kind::nth;
  m.n = positive_integer(kv, fmt::format("{}.{}", field, kv.key));
  return m;
}

// Bound to every interface: clashes with any host on the same port.
bool wildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::";
}

void Loader::check_proxies(const std::vector<ProxyConfig>& proxies,
                           const std::vector<ProxyPositions>& positions) const {
  // Indexes rather than pairwise loops: a hostile file may hold many thousands of proxies.
  std::unordered_map<std::string, std::size_t> by_name;
  std::map<std::pair<std::string, std::uint16_t>, std::size_t> by_address;
  std::unordered_map<std::uint16_t, std::size_t> wildcard_on_port;
  std::unordered_map<std::uint16_t, std::size_t> first_on_port;
  for (std::size_t i = 0; i < proxies.size(); ++i) {
    const ProxyConfig& p = proxies[i];
    if (auto [it, inserted] = by_name.emplace(p.name, i); !inserted) {
      fail(positions[i].name, fmt::format("proxies[{}].name", i),
           fmt::format("expected a unique name, \"{}\" is already used by proxies[{}]", p.name,
                       it->second));
    }
    std::uint16_t port = p.listen.port;
    if (port == 0) continue;  // the kernel chooses: never clashes
    std::optional<std::size_t> clash;
    auto consider = [&](const auto& index, const auto& key) {
      if (auto it = index.find(key); it != index.end() && (!clash || it->second < *clash)) {
        clash = it->second;
      }
    };
    if (wildcard(p.listen.host)) {
      consider(first_on_port, port);
    } else {
      consider(by_address, std::pair{p.listen.host, port});
      consider(wildcard_on_port, port);
    }
    if (clash) {
      const ProxyConfig& q = proxies[*clash];
      fail(positions[i].listen, fmt::format("proxies[{}].listen", i),
           fmt::format("expected an address no other proxy listens on, {} clashes with "
                       "proxies[{}] (\"{}\") on {}",
                       p.listen.to_string(), *clash, q.name, q.listen.to_string()));
    }
    by_address.emplace(std::pair{p.listen.host, port}, i);
    first_on_port.emplace(port, i);
    if (wildcard(p.listen.host)) wildcard_on_port.emplace(port, i);
  }
  std::vector<LoopNode> nodes;
  nodes.reserve(proxies.size());
  for (const ProxyConfig& p : proxies)
    nodes.push_back(LoopNode{p.name, p.listen, p.upstream});
  if (auto loop = find_loop(nodes)) {
    fail(positions[loop->proxy].upstream, fmt::format("proxies[{}].upstream", loop->proxy),
         loop->message);
  }
}

}  // namespace

Config load_config_string(std::string_view yaml, const std::string& source_name) {
  return Loader(source_name).load(yaml);
}

Config load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(SourcePos{path, 0, 0}, "file",
                      fmt::format("expected a readable file: {}", std::strerror(errno)));
  }
  std::string text;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxInputBytes) {
      throw ConfigError(SourcePos{path, 0, 0}, "file",
                        "expected a file of at most 4 MiB, got more");
    }
  }
  if (in.bad()) {
    throw ConfigError(SourcePos{path, 0, 0}, "file",
                      fmt::format("expected a readable file: {}", std::strerror(errno)));
  }
  return load_config_string(text, path);
}

}  // namespace faultline::config
