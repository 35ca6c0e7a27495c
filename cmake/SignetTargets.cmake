# Flags every Signet target gets: warnings, and the sanitizers when asked for.
# Applied per target (not globally) so fixtures that are loaded into foreign
# processes (pkcs11-tool, p11-kit server) can stay uninstrumented.

function(signet_warnings target)
  # Designated initializers that leave members at their defaults are the
  # point of C++20 aggregates; -Wextra would flag each one.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
                                           -Wno-missing-field-initializers)
  if(SIGNET_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# A fuzz build (SIGNET_FUZZ) instruments everything for libFuzzer and is a
# sanitizer build too: code that checks SIGNET_SANITIZE (the provider module,
# compiled once more without instrumentation) must see it.
if(SIGNET_FUZZ)
  foreach(lang C CXX)
    if(NOT CMAKE_${lang}_COMPILER_ID STREQUAL "Clang")
      message(FATAL_ERROR
        "SIGNET_FUZZ=ON needs clang (libFuzzer), but the ${lang} compiler is "
        "${CMAKE_${lang}_COMPILER_ID}: configure a fresh build directory with "
        "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ (as scripts/fuzz does)")
    endif()
  endforeach()
  set(SIGNET_SANITIZE ON)
endif()

function(signet_sanitize target)
  if(SIGNET_FUZZ)
    # Coverage for libFuzzer everywhere; only fuzz executables link its main.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                             -fno-sanitize-recover=undefined
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(SIGNET_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined
                                             -fno-sanitize-recover=undefined
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# A library or executable of our own: warnings plus sanitizers.
function(signet_target target)
  signet_warnings(${target})
  signet_sanitize(${target})
endfunction()

# Test code: the GoogleTest drivers and the fixtures they link. Outside Debug
# builds it is compiled without optimisation and with line tables only: that
# takes about 40% less time than -O2 -g (two thirds of the build is test code,
# most of it GoogleTest's and gRPC's templates), while the code under test
# keeps the build type's flags. Line tables are what failure backtraces and
# sanitizer reports need.
function(signet_test_code target)
  target_compile_options(${target} PRIVATE "$<$<NOT:$<CONFIG:Debug>>:-O0;-g1>")
endfunction()

# A GoogleTest binary registered with ctest. Usage:
#   signet_test(NAME foo_test SOURCES foo_test.cc LIBS signet_tokens)
#   signet_test(NAME bar_test SOURCES bar_test.cc LIBS ... RUNS signetd signet_fault_pkcs11)
# RUNS: targets the test runs or loads; each is built before it, and its
# path is the macro <TARGET>_PATH (upper case, '-' as '_'): SIGNETD_PATH,
# SIGNET_FAULT_PKCS11_PATH.
function(signet_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;RUNS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock signet_gtest_main)
  foreach(run IN LISTS T_RUNS)
    string(TOUPPER "${run}" macro)
    string(REPLACE "-" "_" macro "${macro}")
    target_compile_definitions(${T_NAME} PRIVATE ${macro}_PATH="$<TARGET_FILE:${run}>")
    add_dependencies(${T_NAME} ${run})
  endforeach()
  signet_target(${T_NAME})
  signet_test_code(${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  include(GoogleTest)
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60
                       PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
endfunction()

# A libFuzzer target (SIGNET_FUZZ=ON only), run by scripts/fuzz. Usage:
#   signet_fuzzer(NAME foo_fuzzer SOURCES foo_fuzzer.cc LIBS signet_cms
#                 CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/foo)
# CORPUS is the directory of seed inputs (optional); scripts/fuzz runs the
# fuzzer on a scratch copy of it, so the seeds may also be written there at
# build time by a custom command (list it in DEPENDS). The target's entry in
# ${CMAKE_BINARY_DIR}/fuzzers/ tells scripts/fuzz the binary and the corpus.
function(signet_fuzzer)
  cmake_parse_arguments(F "" "NAME;CORPUS" "SOURCES;LIBS;DEPENDS" ${ARGN})
  add_executable(${F_NAME} ${F_SOURCES})
  target_link_libraries(${F_NAME} PRIVATE ${F_LIBS})
  signet_warnings(${F_NAME})
  target_compile_options(${F_NAME} PRIVATE -fsanitize=fuzzer,address,undefined
                                           -fno-sanitize-recover=undefined
                                           -fno-omit-frame-pointer)
  target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  if(F_DEPENDS)
    add_dependencies(${F_NAME} ${F_DEPENDS})
  endif()
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/fuzzers/${F_NAME}
       CONTENT "binary=$<TARGET_FILE:${F_NAME}>\ncorpus=${F_CORPUS}\n")
endfunction()
