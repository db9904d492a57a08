# The module graph of STYLE.md, enforced: every #include "<module>/..." of our sources must
# point at the module itself or one below it. Run at every build (target layer_check); a
# forbidden include fails the build, naming the file, the line and the rule.
#
#   cmake -DSOURCE_DIR=<repo> -P cmake/check_layers.cmake

# Folder -> the folders its includes may name. The longest folder matching a file decides.
# herald/ is the public API (include/herald): below everything, above nothing.
set(rules
  "include/herald:herald"
  "common:herald common"
  "storage:herald common storage"
  "engine:herald common storage engine"
  "handlers:herald common engine handlers"
  "net/resp:herald common net/resp"
  "net/client:herald common net/resp net/client"
  "net:herald common engine net"
  "api:herald common storage engine net api"
)

set(violations "")
foreach(rule IN LISTS rules)
  string(REPLACE ":" ";" parts "${rule}")
  list(GET parts 0 folder)
  list(GET parts 1 allowed)
  string(REPLACE " " ";" allowed "${allowed}")
  file(GLOB_RECURSE sources RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/${folder}/*.h"
       "${SOURCE_DIR}/${folder}/*.cc")
  foreach(source IN LISTS sources)
    # A file under a more specific folder with a rule of its own is checked by that rule.
    set(owner "${folder}")
    foreach(other IN LISTS rules)
      string(REPLACE ":" ";" other_parts "${other}")
      list(GET other_parts 0 other_folder)
      string(LENGTH "${other_folder}" other_length)
      string(LENGTH "${owner}" owner_length)
      if(other_length GREATER owner_length AND source MATCHES "^${other_folder}/")
        set(owner "${other_folder}")
      endif()
    endforeach()
    if(NOT owner STREQUAL folder)
      continue()
    endif()
    file(STRINGS "${SOURCE_DIR}/${source}" includes REGEX "^#include \"[a-z_]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" target "${line}")
      set(ok FALSE)
      foreach(prefix IN LISTS allowed)
        if(target MATCHES "^${prefix}/")
          set(ok TRUE)
        endif()
      endforeach()
      if(NOT ok)
        string(APPEND violations "  ${source}: #include \"${target}\" (${folder}/ may include only: ${allowed})\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "includes that break the module graph (STYLE.md):\n${violations}")
endif()
