#include "tests/support/paths.hpp"

namespace faultline::test {

const std::string& source_dir() {
  static const std::string dir = FAULTLINE_SOURCE_DIR;
  return dir;
}

const std::string& binary_dir() {
  static const std::string dir = FAULTLINE_BINARY_DIR;
  return dir;
}

}  // namespace faultline::test
