// Where the tests find the source tree (examples, docs, fixtures) and the built binaries.
// Compiled into one small library rather than passed as -D to every test file, so that a
// clone at another path still hits the compiler cache for every test but this one.
#pragma once

#include <string>

namespace faultline::test {

const std::string& source_dir();  // the checkout's root
const std::string& binary_dir();  // the build tree's root (binaries in bin/)

}  // namespace faultline::test
