// Every ```yaml block in docs/faults.md (the items of a `faults:` list) and every file in
// examples/ loads through the real loader and fault registry: the docs cannot rot.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "faults/registry.hpp"
#include "control/server.hpp"
#include "tests/support/fault_harness.hpp"
#include "tests/support/paths.hpp"

namespace faultline::test {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Block {
  int line;
  std::string text;
};

std::vector<Block> yaml_blocks(const std::string& markdown) {
  std::vector<Block> blocks;
  std::istringstream in(markdown);
  std::string line;
  int n = 0;
  bool inside = false;
  for (; std::getline(in, line);) {
    ++n;
    if (!inside && line.rfind("```yaml", 0) == 0) {
      inside = true;
      blocks.push_back({n + 1, ""});
    } else if (inside && line.rfind("```", 0) == 0) {
      inside = false;
    } else if (inside) {
      blocks.back().text += line + "\n";
    }
  }
  return blocks;
}

TEST(DocsExamples, EveryFaultExampleInDocsFaultsMdLoads) {
  auto docs = std::filesystem::path(test::source_dir()) / "docs" / "faults.md";
  auto blocks = yaml_blocks(read_file(docs));
  ASSERT_GE(blocks.size(), 2u);
  faults::FaultRegistry registry;
  faults::register_builtin_faults(registry);
  for (const auto& b : blocks) {
    std::string indented;
    std::istringstream lines(b.text);
    for (std::string l; std::getline(lines, l);)
      indented += "      " + l + "\n";
    try {
      config::Config cfg = config::load_config_string(
          "proxies:\n  - name: p\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:1\n"
          "    faults:\n" +
              indented,
          "docs/faults.md block");
      control::validate(cfg, registry);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "docs/faults.md:" << b.line << ": " << e.what() << "\n" << b.text;
    }
  }
}

TEST(DocsExamples, EveryDocumentedFaultTypeHasASectionWithAnExample) {
  std::string docs = read_file(std::filesystem::path(test::source_dir()) / "docs" / "faults.md");
  faults::FaultRegistry registry;
  faults::register_builtin_faults(registry);
  for (const auto& type : registry.type_names()) {
    EXPECT_NE(docs.find("## " + type + "\n"), std::string::npos)
        << "docs/faults.md has no section for " << type;
    EXPECT_NE(docs.find("type: " + type), std::string::npos)
        << "docs/faults.md has no example for " << type;
  }
}

TEST(DocsExamples, EveryExampleScenarioValidates) {
  faults::FaultRegistry registry;
  faults::register_builtin_faults(registry);
  auto dir = std::filesystem::path(test::source_dir()) / "examples";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    try {
      config::Config cfg = config::load_config_file(entry.path().string());
      control::validate(cfg, registry);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
  EXPECT_GE(files, 1);
}

}  // namespace
}  // namespace faultline::test
