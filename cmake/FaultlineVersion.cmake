# The project version, from project(... VERSION ...), as a generated header
# (faultline/version.hpp) and the INTERFACE target faultline_version that puts it on the
# include path, in the build tree and once installed.
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.hpp.in
               ${PROJECT_BINARY_DIR}/generated/include/faultline/version.hpp @ONLY)
add_library(faultline_version INTERFACE)
target_include_directories(faultline_version INTERFACE
  $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(faultline_version PROPERTIES EXPORT_NAME version)
