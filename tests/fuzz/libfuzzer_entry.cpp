// One libFuzzer binary per target: FAULTLINE_FUZZ_TARGET names the function (CMakeLists.txt).
#include "tests/fuzz/fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  faultline::fuzz::FAULTLINE_FUZZ_TARGET(data, size);
  return 0;
}
