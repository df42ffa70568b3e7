// Each fault's attribute declaration (faults/attribute.hpp) is the one source of its names,
// units and defaults: the tables in docs/faults.md and docs/api.md must say the same, every
// fallback must pass the fault's own checks, and the API's numbers convert both ways.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "faults/attribute.hpp"
#include "faults/registry.hpp"
#include "tests/support/fault_harness.hpp"
#include "tests/support/paths.hpp"

namespace faultline::test {
namespace {

using faults::ApiUnit;
using faults::AttributeSpec;
using faults::AttrKind;

std::string read_doc(const std::string& name) {
  std::ifstream in(std::filesystem::path(source_dir()) / "docs" / name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(' '));
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

std::string strip(std::string s, std::string_view chars) {
  std::string out;
  for (char c : s) {
    if (chars.find(c) == std::string_view::npos) out += c;
  }
  return out;
}

// "| a | b |" -> {"a", "b"}; empty for a line that is not a table row.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  if (line.empty() || line[0] != '|') return out;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|') {
      out.push_back(trim(cell));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return out;
}

// The backticked words of a cell: "`a`, `b`" -> {"a", "b"}.
std::vector<std::string> ticked(const std::string& cell) {
  std::vector<std::string> out;
  for (std::size_t open = cell.find('`'); open != std::string::npos;) {
    std::size_t close = cell.find('`', open + 1);
    if (close == std::string::npos) break;
    out.push_back(cell.substr(open + 1, close - open - 1));
    open = cell.find('`', close + 1);
  }
  return out;
}

const faults::FaultRegistry& registry() {
  return builtin_registry();
}

// A row of an attribute table in docs/faults.md: section (fault type) -> attribute -> cells.
struct DocRow {
  std::string unit, fallback;
};
std::map<std::string, std::map<std::string, DocRow>> faults_md_tables() {
  std::map<std::string, std::map<std::string, DocRow>> tables;
  std::istringstream in(read_doc("faults.md"));
  std::string line, section;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      section = trim(line.substr(3));
      in_table = false;
      continue;
    }
    auto c = cells(line);
    if (c.empty()) {
      in_table = false;
    } else if (c.size() >= 3 && c[0] == "attribute" && c[1] == "unit" && c[2] == "default") {
      in_table = true;
      tables[section];  // a table, even if empty
    } else if (in_table && c.size() >= 3 && c[0].rfind("---", 0) != 0) {
      tables[section][strip(c[0], "`")] = DocRow{c[1], strip(c[2], "`")};
    }
  }
  return tables;
}

// The unit column of docs/faults.md: the kind's name first ("duration", "size, 1 B..1GiB",
// "rate (`1MB/s`)", "count (connections)"), or the choices in backticks.
void expect_unit_cell(const std::string& where, const AttributeSpec& a, const std::string& cell) {
  if (a.kind == AttrKind::choice) {
    EXPECT_EQ(ticked(cell), a.choices) << where << ": " << cell;
    return;
  }
  std::string first = cell.substr(0, cell.find_first_of(" ,("));
  EXPECT_EQ(first, faults::kind_name(a.kind)) << where << ": " << cell;
}

void expect_default_cell(const std::string& where, const AttributeSpec& a,
                         const std::string& cell) {
  if (a.required) {
    EXPECT_EQ(cell, "required") << where;
  } else if (a.fallback.empty()) {
    EXPECT_TRUE(cell == "none" || cell == "for ever") << where << ": " << cell;
  } else {
    EXPECT_EQ(cell, a.fallback) << where;
  }
}

TEST(Declarations, DocsFaultsMdTablesMatchTheDeclarations) {
  auto tables = faults_md_tables();
  for (const auto& type : registry().types()) {
    SCOPED_TRACE("docs/faults.md ## " + type.name);
    ASSERT_TRUE(tables.count(type.name)) << "no section with an attribute table";
    auto rows = tables[type.name];
    for (const auto& a : type.attributes) {
      const std::string where = type.name + "." + a.name;
      auto row = rows.find(a.name);
      if (row == rows.end()) {
        ADD_FAILURE() << where << ": declared, but not in the table";
        continue;
      }
      expect_unit_cell(where, a, row->second.unit);
      expect_default_cell(where, a, row->second.fallback);
      rows.erase(row);
    }
    // What is left must be a common condition explained again for this fault (backlog's
    // after/duration), as declared there.
    for (const auto& [name, row] : rows) {
      const AttributeSpec* condition = registry().attribute("", name);
      if (!condition) {
        ADD_FAILURE() << type.name << "." << name << ": in the table, but not declared";
        continue;
      }
      expect_unit_cell(type.name + "." + name, *condition, row.unit);
      expect_default_cell(type.name + "." + name, *condition, row.fallback);
    }
  }
  for (const auto& [section, rows] : tables) {
    EXPECT_TRUE(registry().find(section))
        << "docs/faults.md has a table for " << section << ", which is not a registered fault";
  }
}

// "a number means" in docs/api.md for each unit.
std::string api_meaning(const AttributeSpec& a) {
  if (a.kind == AttrKind::choice) return "(string)";
  switch (a.api_unit) {
    case ApiUnit::ms:
      return "milliseconds";
    case ApiUnit::us:
      return "microseconds";
    case ApiUnit::bytes:
      return "bytes";
    case ApiUnit::kbps:
      return "KB/s, 1 KB = 1000 B";
    case ApiUnit::plain:
      return "a count";
  }
  return "?";
}

TEST(Declarations, DocsApiMdUnitsTableMatchesTheDeclarations) {
  std::istringstream in(read_doc("api.md"));
  std::set<std::string> seen;  // "type.attribute"
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    auto c = cells(line);
    if (c.size() >= 3 && c[0] == "type" && c[1] == "attribute" && c[2] == "a number means") {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (c.empty()) break;
    if (c[0].rfind("---", 0) == 0) continue;
    const std::string type = c[0];
    const std::string meaning = strip(c[2], "*");
    for (const auto& name : ticked(c[1])) {
      const std::string where = "docs/api.md: " + type + "." + name;
      if (type == "any" && name == "connections") continue;  // a match, not a number
      const AttributeSpec* a = type == "any"           ? registry().attribute("", name)
                               : registry().find(type) ? registry().find(type)->attribute(name)
                                                       : nullptr;
      if (!a) {
        ADD_FAILURE() << where << ": not declared";
        continue;
      }
      EXPECT_EQ(meaning.rfind(api_meaning(*a), 0), 0u) << where << ": " << c[2];
      if (a->kind == AttrKind::choice) {
        EXPECT_EQ(ticked(c[2]), a->choices) << where;
      }
      seen.insert(type + "." + name);
    }
  }
  for (const auto& type : registry().types()) {
    for (const auto& a : type.attributes) {
      EXPECT_TRUE(seen.count(type.name + "." + a.name))
          << "docs/api.md's units table misses " << type.name << "." << a.name;
    }
  }
  for (const auto& c : faults::condition_attributes()) {
    EXPECT_TRUE(seen.count("any." + c.name)) << "docs/api.md's units table misses " << c.name;
  }
}

// A value of each kind that every fault accepts for a required attribute.
std::string sample(const AttributeSpec& a) {
  switch (a.kind) {
    case AttrKind::duration:
      return "10ms";
    case AttrKind::size:
      return "16";
    case AttrKind::rate:
      return "1MB/s";
    case AttrKind::count:
      return "1";
    case AttrKind::choice:
      return a.choices.front();
  }
  return "";
}

TEST(Declarations, EveryFallbackPassesTheFaultsOwnChecks) {
  for (const auto& type : registry().types()) {
    std::string yaml = "- {type: " + type.name;
    for (const auto& a : type.attributes) {
      if (a.required) yaml += ", " + a.name + ": " + sample(a);
    }
    yaml += "}";
    EXPECT_NO_THROW(compile_fault(yaml)) << yaml;
  }
}

TEST(Declarations, EveryDeclaredAttributeIsReadAndNothingElse) {
  // Each attribute written once with a valid value compiles: the parser reads what it declares
  // (reading an undeclared one throws std::logic_error, which would fail here too).
  for (const auto& type : registry().types()) {
    std::string yaml = "- {type: " + type.name;
    for (const auto& a : type.attributes) {
      std::string v = a.name == "size_variation" ? "0" : sample(a);
      yaml += ", " + a.name + ": " + v;
    }
    yaml += "}";
    EXPECT_NO_THROW(compile_fault(yaml)) << yaml;
  }
  faults::FaultRegistry r;
  EXPECT_THROW(r.add({"bad_fallback",
                      {},
                      faults::FaultScope::stream,
                      {AttributeSpec::duration("d", ApiUnit::ms, "").defaults_to("100")},
                      nullptr}),
               std::logic_error);
  EXPECT_THROW(r.add({"bad_choice",
                      {},
                      faults::FaultScope::stream,
                      {AttributeSpec::choice("c", {"y"}, "").defaults_to("x")},
                      nullptr}),
               std::logic_error);
  // A parser reading an attribute its fault does not declare is caught on first use.
  r.add({"undeclared",
         {},
         faults::FaultScope::stream,
         {},
         [](faults::AttributeReader& attrs) -> std::shared_ptr<const faults::FaultFactory> {
           attrs.duration("delay");
           return nullptr;
         }});
  config::FaultSpec spec;
  spec.type = "undeclared";
  EXPECT_THROW(r.compile(spec), std::logic_error);
}

TEST(Declarations, ApiNumbersConvertBothWaysInTheDeclaredUnit) {
  EXPECT_EQ(faults::text_from_api_number(ApiUnit::ms, "100"), "100ms");
  EXPECT_EQ(faults::text_from_api_number(ApiUnit::us, "10"), "10us");
  EXPECT_EQ(faults::text_from_api_number(ApiUnit::kbps, "100"), "100KB/s");
  EXPECT_EQ(faults::text_from_api_number(ApiUnit::bytes, "64"), "64");
  EXPECT_EQ(faults::api_number_from_text(ApiUnit::ms, "2s"), 2000.0);
  EXPECT_EQ(faults::api_number_from_text(ApiUnit::us, "1.5ms"), 1500.0);
  EXPECT_EQ(faults::api_number_from_text(ApiUnit::kbps, "1MB/s"), 1000.0);
  EXPECT_EQ(faults::api_number_from_text(ApiUnit::bytes, "64KiB"), 65536.0);
  EXPECT_EQ(faults::api_number_from_text(ApiUnit::plain, "3"), std::nullopt);
  EXPECT_EQ(faults::api_number_from_text(ApiUnit::ms, "fast"), std::nullopt);
  // The units the API uses are the declared ones, not a table of its own.
  EXPECT_EQ(registry().attribute("slicer", "delay")->api_unit, ApiUnit::us);
  EXPECT_EQ(registry().attribute("split", "delay")->api_unit, ApiUnit::us);
  EXPECT_EQ(registry().attribute("slow_close", "delay")->api_unit, ApiUnit::ms);
  EXPECT_EQ(registry().attribute("bandwidth", "rate")->api_unit, ApiUnit::kbps);
  EXPECT_EQ(registry().attribute("latency", "after")->api_unit, ApiUnit::ms);
  EXPECT_EQ(registry().attribute("latency", "nonesuch"), nullptr);
}

}  // namespace
}  // namespace faultline::test
