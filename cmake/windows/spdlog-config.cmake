# spdlog for the MinGW build: Debian's libspdlog-dev headers, header-only, on the external fmt
# (Debian's tweakme.h sets SPDLOG_FMT_EXTERNAL).
get_filename_component(_fl_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
include(CMakeFindDependencyMacro)
find_dependency(fmt)
if(NOT TARGET spdlog::spdlog)
  add_library(spdlog::spdlog INTERFACE IMPORTED)
  set_target_properties(spdlog::spdlog PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_fl_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS SPDLOG_FMT_EXTERNAL
    INTERFACE_LINK_LIBRARIES fmt::fmt)
endif()
set(spdlog_FOUND TRUE)
