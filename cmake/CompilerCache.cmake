# Compiles through ccache when it is installed (scripts/bootstrap installs it)
# and SIGNET_CCACHE is on, so that a machine that builds Signet again (a
# second scripts/test, CI on the machine a developer used, another clone)
# recompiles only what changed. The cache is ccache's own directory
# (~/.cache/ccache, or CCACHE_DIR), outside every build tree.
#
# base_dir makes the paths under the checkout relative before hashing, and
# no hash of the working directory, so a fresh clone in another folder hits
# the objects of the last one. What that costs: an object taken from the
# cache keeps the debug-info directory of the clone that compiled it first,
# which only matters to a debugger stepping into the sources. Compile
# commands that name absolute paths of their own (the tests' -DSIGNETD_PATH
# and the like) still miss in another folder, as they must.
find_program(SIGNET_CCACHE_PROGRAM ccache)
if(SIGNET_CCACHE AND SIGNET_CCACHE_PROGRAM)
  foreach(lang C CXX)
    set(CMAKE_${lang}_COMPILER_LAUNCHER
        env CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} CCACHE_NOHASHDIR=1 ${SIGNET_CCACHE_PROGRAM})
  endforeach()
  message(STATUS "Compiling through ${SIGNET_CCACHE_PROGRAM}")
endif()
