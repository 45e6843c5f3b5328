# Shared compile settings and helpers for Roster's targets.

set(ROSTER_WARNINGS -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor)
# GCC 12 at -O2/-O3 reports a false -Wrestrict inside libstdc++'s
# operator+(const char*, std::string&&) (GCC bug 105651); it is silenced only there.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND ROSTER_WARNINGS -Wno-restrict)
endif()

set(ROSTER_SANITIZER_FLAGS "")
if(ROSTER_SANITIZE)
  set(ROSTER_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
endif()

# Applies Roster's warnings, include root and sanitizers to a target.
function(roster_configure_target target)
  target_compile_options(${target} PRIVATE ${ROSTER_WARNINGS} ${ROSTER_SANITIZER_FLAGS})
  target_link_options(${target} PRIVATE ${ROSTER_SANITIZER_FLAGS})
endfunction()

# roster_add_library(name SOURCES ... DEPS ...)
function(roster_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  roster_configure_target(${name})
endfunction()

# roster_add_test(name SOURCES ... DEPS ... [LABELS ...] [TIMEOUT s])
# Builds a GoogleTest binary and registers it with CTest.
function(roster_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  roster_configure_target(${name})
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "unit;${ARG_LABELS}")
endfunction()
