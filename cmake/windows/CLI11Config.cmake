# CLI11 for the MinGW build: Debian's libcli11-dev headers (header-only).
get_filename_component(_fl_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET CLI11::CLI11)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  set_target_properties(CLI11::CLI11 PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_fl_prefix}/include")
endif()
set(CLI11_FOUND TRUE)
