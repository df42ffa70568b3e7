# nlohmann-json for the MinGW build: Debian's nlohmann-json3-dev headers (header-only).
get_filename_component(_fl_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET nlohmann_json::nlohmann_json)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_fl_prefix}/include")
endif()
set(nlohmann_json_FOUND TRUE)
