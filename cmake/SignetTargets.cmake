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

function(signet_sanitize target)
  if(SIGNET_SANITIZE)
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

# A GoogleTest binary registered with ctest. Usage:
#   signet_test(NAME foo_test SOURCES foo_test.cc LIBS signet_tokens)
function(signet_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  signet_target(${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  include(GoogleTest)
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60
                       PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
endfunction()
