# synod_warnings: an interface target every Synod target links privately.
add_library(synod_warnings INTERFACE)
target_compile_options(synod_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough)
if(SYNOD_WERROR)
  target_compile_options(synod_warnings INTERFACE -Werror)
endif()
if(SYNOD_SANITIZE)
  target_compile_options(synod_warnings INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(synod_warnings INTERFACE -fsanitize=address,undefined)
endif()
if(SYNOD_TSAN)
  target_compile_options(synod_warnings INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(synod_warnings INTERFACE -fsanitize=thread)
endif()
