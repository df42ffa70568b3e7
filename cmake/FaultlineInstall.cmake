# `cmake --install`: the programs, their manual pages, the docs and the examples in the
# GNUInstallDirs places, and the embeddable library (Faultline::faultline, Faultline::gtest)
# with its headers and a CMake package config; then CPack's Debian package.
include(CMakePackageConfigHelpers)

set(FAULTLINE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Faultline)

# --- programs and their manual pages (made from --help) -------------------------------------
install(TARGETS faultline echo-server echo-client RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(program faultline echo-server echo-client)
  set(page ${PROJECT_BINARY_DIR}/man/${program}.1)
  add_custom_command(OUTPUT ${page}
    COMMAND ${CMAKE_COMMAND} -DBIN=$<TARGET_FILE:${program}> -DNAME=${program}
            -DVERSION=${PROJECT_VERSION} -DDOCDIR=${CMAKE_INSTALL_DOCDIR} -DOUT=${page}
            -P ${CMAKE_CURRENT_LIST_DIR}/help_to_man.cmake
    DEPENDS ${program} ${CMAKE_CURRENT_LIST_DIR}/help_to_man.cmake
    COMMENT "Manual page ${program}.1 from ${program} --help" VERBATIM)
  list(APPEND FAULTLINE_MAN_PAGES ${page})
endforeach()
add_custom_target(faultline_man_pages ALL DEPENDS ${FAULTLINE_MAN_PAGES})
install(FILES ${FAULTLINE_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# --- docs and examples ------------------------------------------------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# docs/ and examples/ beside the README, so that its links hold.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILES_MATCHING PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        PATTERN "build*" EXCLUDE)

# --- the library ------------------------------------------------------------------------------
# The public library links the internal static libraries privately; a static archive still
# needs them at the consumer's link, so they are installed as exported targets too (in a
# directory of their own: they are not an API). Their include directories point into the
# source tree, which is right for the build only.
set(FAULTLINE_INTERNAL_LIBS faultline_config faultline_faults faultline_proxy faultline_control)
foreach(lib ${FAULTLINE_INTERNAL_LIBS} asio_standalone)
  get_target_property(dirs ${lib} INTERFACE_INCLUDE_DIRECTORIES)
  if(dirs)
    set(build_only "")
    foreach(dir ${dirs})
      list(APPEND build_only "$<BUILD_INTERFACE:${dir}>")
    endforeach()
    set_target_properties(${lib} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${build_only}")
  endif()
endforeach()
set(FAULTLINE_EXPORTED faultline_version asio_standalone ${FAULTLINE_INTERNAL_LIBS})
if(TARGET faultline_embed)
  list(APPEND FAULTLINE_EXPORTED faultline_embed)
endif()
if(TARGET faultline_gtest)
  list(APPEND FAULTLINE_EXPORTED faultline_gtest)
endif()
install(TARGETS ${FAULTLINE_EXPORTED} EXPORT FaultlineTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/generated/include/faultline/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/faultline)
install(EXPORT FaultlineTargets NAMESPACE Faultline:: DESTINATION ${FAULTLINE_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/FaultlineConfig.cmake.in
  ${PROJECT_BINARY_DIR}/FaultlineConfig.cmake INSTALL_DESTINATION ${FAULTLINE_CMAKE_DIR})
# 0.x: a minor release may break the API (docs/embedding.md), so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/FaultlineConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/FaultlineConfig.cmake
              ${PROJECT_BINARY_DIR}/FaultlineConfigVersion.cmake
        DESTINATION ${FAULTLINE_CMAKE_DIR})

# --- the Debian package: cpack -G DEB (or `cmake --build build --target package`) -----------
# Only for this project built on its own, not when a consumer adds it as a subdirectory.
if(CMAKE_SOURCE_DIR STREQUAL PROJECT_SOURCE_DIR)
  set(CPACK_GENERATOR DEB)
  set(CPACK_PACKAGE_NAME faultline)
  set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
  set(CPACK_PACKAGE_VENDOR "Faultline")
  set(CPACK_PACKAGE_CONTACT "Faultline maintainers <faultline@localhost>")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "fault-injecting TCP proxy for resilience testing")
  set(CPACK_PACKAGE_DESCRIPTION
    "Faultline sits between a client and any TCP service and relays the bytes through faults "
    "chosen in a YAML file or over a Toxiproxy-compatible HTTP API: latency, partial reads, "
    "coalesced reads, silence, resets (ECONNRESET), backlog exhaustion, bandwidth, slow close. "
    "The package holds faultline, echo-server and echo-client, the docs and the scenario files, "
    "and the embeddable library (find_package(Faultline)) with its GoogleTest helper.")
  string(CONCAT CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # faultline_<version>_<arch>.deb
  set(CPACK_DEBIAN_PACKAGE_SECTION net)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from the libraries the programs link
  # What a consumer of the library needs to build against it (the package config finds them).
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "cmake, g++, libyaml-cpp-dev, libspdlog-dev, libfmt-dev, libgtest-dev")
  set(CPACK_STRIP_FILES ON)
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  include(CPack)
endif()
