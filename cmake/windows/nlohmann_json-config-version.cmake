# The version of the headers copied from nlohmann-json3-dev (scripts/build-windows writes it).
include("${CMAKE_CURRENT_LIST_DIR}/version.cmake")
set(PACKAGE_VERSION "${_fl_nlohmann_version}")
string(REGEX MATCH "^[0-9]+" _fl_major "${PACKAGE_VERSION}")
if(PACKAGE_FIND_VERSION_MAJOR STREQUAL "" OR PACKAGE_FIND_VERSION_MAJOR EQUAL _fl_major)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
