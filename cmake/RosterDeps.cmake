# Third-party libraries, as Roster's targets link them.
#
# Libraries link the roster_dep_* targets below, never the packages' own
# targets. An executable with the target property ROSTER_STATIC_LINK set links
# protobuf-lite, yaml-cpp, OpenSSL and zlib from their static archives (and
# the C++ runtime, see roster_link_statically()); every other target links the
# shared libraries. roster-agent does this: a statically linked, non-PIE
# binary maps only the code it runs, where the shared libraries cost an idle
# agent several MiB of symbol tables and relocated pages.
#
# spdlog and fmt are used header-only everywhere: Debian ships them as shared
# libraries only, and those pull in the shared C++ runtime.

option(ROSTER_STATIC_AGENT "Link roster-agent statically against its C++ libraries (smaller RSS)" ON)
if(ROSTER_SANITIZE OR ROSTER_FUZZ)
  # The sanitizer runtimes want the shared C++ runtime; tests link dynamically.
  set(ROSTER_STATIC_AGENT OFF)
endif()

set(_roster_static "$<BOOL:$<TARGET_PROPERTY:ROSTER_STATIC_LINK>>")

# roster_dep(<name> SHARED <target> [STATIC <archive>...])
function(roster_dep name)
  cmake_parse_arguments(ARG "" "SHARED" "STATIC" ${ARGN})
  add_library(roster_dep_${name} INTERFACE)
  if(NOT ROSTER_STATIC_AGENT)
    target_link_libraries(roster_dep_${name} INTERFACE ${ARG_SHARED})
    return()
  endif()
  # Headers and definitions always come from the package's target.
  target_include_directories(roster_dep_${name} SYSTEM INTERFACE
    $<TARGET_PROPERTY:${ARG_SHARED},INTERFACE_INCLUDE_DIRECTORIES>)
  target_link_libraries(roster_dep_${name} INTERFACE "$<$<NOT:${_roster_static}>:${ARG_SHARED}>")
  foreach(archive IN LISTS ARG_STATIC)
    find_library(ROSTER_STATIC_${archive} NAMES ${archive} REQUIRED NO_CACHE)
    target_link_libraries(roster_dep_${name} INTERFACE "$<${_roster_static}:${ROSTER_STATIC_${archive}}>")
  endforeach()
endfunction()

roster_dep(zlib SHARED ZLIB::ZLIB STATIC libz.a)

# xxhash (Raft storage checksums): Debian's libxxhash-dev ships no CMake
# package config, so it is imported by hand.
find_path(ROSTER_XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
find_library(ROSTER_XXHASH_LIBRARY xxhash REQUIRED)
add_library(roster_xxhash_shared UNKNOWN IMPORTED)
set_target_properties(roster_xxhash_shared PROPERTIES
  IMPORTED_LOCATION "${ROSTER_XXHASH_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${ROSTER_XXHASH_INCLUDE_DIR}")
roster_dep(xxhash SHARED roster_xxhash_shared STATIC libxxhash.a)
roster_dep(crypto SHARED OpenSSL::Crypto STATIC libcrypto.a)
roster_dep(ssl SHARED OpenSSL::SSL STATIC libssl.a libcrypto.a)
roster_dep(protobuf SHARED protobuf::libprotobuf-lite STATIC libprotobuf-lite.a)
roster_dep(yaml_cpp SHARED yaml-cpp STATIC libyaml-cpp.a)
# Boost.Regex (user event filters): Debian's shared library is built with ICU,
# which would map libicu* and the shared C++ runtime into the agent (about
# 3 MiB of an idle agent's RSS); the archive's non-ICU objects need neither.
roster_dep(boost_regex SHARED Boost::regex STATIC libboost_regex.a)
target_link_libraries(roster_dep_protobuf INTERFACE roster_dep_zlib Threads::Threads)
target_link_libraries(roster_dep_crypto INTERFACE Threads::Threads ${CMAKE_DL_LIBS})
target_link_libraries(roster_dep_ssl INTERFACE Threads::Threads ${CMAKE_DL_LIBS})

add_library(roster_dep_fmt INTERFACE)
target_link_libraries(roster_dep_fmt INTERFACE fmt::fmt-header-only)
add_library(roster_dep_spdlog INTERFACE)
target_compile_definitions(roster_dep_spdlog INTERFACE SPDLOG_FMT_EXTERNAL)
target_include_directories(roster_dep_spdlog SYSTEM INTERFACE
  $<TARGET_PROPERTY:spdlog::spdlog_header_only,INTERFACE_INCLUDE_DIRECTORIES>)
target_link_libraries(roster_dep_spdlog INTERFACE roster_dep_fmt Threads::Threads)

# Marks an executable for static linking (see above) when ROSTER_STATIC_AGENT is on.
function(roster_link_statically target)
  if(ROSTER_STATIC_AGENT)
    set_target_properties(${target} PROPERTIES ROSTER_STATIC_LINK ON POSITION_INDEPENDENT_CODE OFF)
    target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc -no-pie LINKER:--gc-sections)
  endif()
endfunction()
