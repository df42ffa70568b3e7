# fmt for the MinGW build: Debian's libfmt-dev headers, header-only (FMT_HEADER_ONLY).
get_filename_component(_fl_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET fmt::fmt)
  add_library(fmt::fmt INTERFACE IMPORTED)
  set_target_properties(fmt::fmt PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_fl_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS FMT_HEADER_ONLY)
endif()
set(fmt_FOUND TRUE)
