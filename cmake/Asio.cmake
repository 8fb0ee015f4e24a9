# One Asio configuration for every translation unit that includes it.
#
# Asio is header-only and picks its configuration per translation unit. One
# of its choices depends on include order: ASIO_HAS_STD_ALIGNED_ALLOC is set
# from libstdc++'s _GLIBCXX_HAVE_ALIGNED_ALLOC, which exists only once some
# C++ standard header was included. A file that includes <asio.hpp> after C
# headers alone (client_api_test.cpp: <signal.h>, <sys/types.h>) got
# ::operator new/delete for Asio's recycled memory; every other file got
# std::aligned_alloc/free. Both copies of the inline thread_info_base
# allocate()/deallocate() went into one program and the linker kept one of
# each: an ODR violation, which a -DSYNOD_SANITIZE=ON build reports as
# alloc-dealloc-mismatch (malloc vs operator delete) in the awaitable frame
# of the client's async_resolve. Deciding the macro here, once, on the
# command line of every target (and of every consumer of Synod::client,
# client/CMakeLists.txt), makes include order irrelevant.
include(CheckCXXSymbolExists)
check_cxx_symbol_exists(aligned_alloc cstdlib SYNOD_HAVE_ALIGNED_ALLOC)
if(SYNOD_HAVE_ALIGNED_ALLOC)
  set(SYNOD_ASIO_DEFINITIONS ASIO_HAS_STD_ALIGNED_ALLOC=1)
else()
  set(SYNOD_ASIO_DEFINITIONS ASIO_DISABLE_STD_ALIGNED_ALLOC=1)
endif()
add_compile_definitions(${SYNOD_ASIO_DEFINITIONS})
