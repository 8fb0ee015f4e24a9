// SYNOD_ASSERT: an invariant check that stays on in every build type.
//
// A broken invariant means the process can no longer be trusted with the
// facts it holds, so it prints the expression and where, and aborts. Expected
// outcomes (NO_NODE, NOT_LEADER, ...) are values, never assertions
// (STYLE.md habit 4).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace synod::base {

[[noreturn]] inline void assert_failed(const char* expr, const char* file, int line,
                                       const char* why) {
  std::fprintf(stderr, "synod: assertion failed: %s%s%s at %s:%d\n", expr,
               why != nullptr ? " — " : "", why != nullptr ? why : "", file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace synod::base

#define SYNOD_ASSERT(cond)                                                   \
  do {                                                                       \
    if (!(cond)) [[unlikely]]                                                \
      ::synod::base::assert_failed(#cond, __FILE__, __LINE__, nullptr);      \
  } while (false)

// SYNOD_ASSERT_MSG(cond, why): the same, with a sentence for the reader.
#define SYNOD_ASSERT_MSG(cond, why)                                          \
  do {                                                                       \
    if (!(cond)) [[unlikely]]                                                \
      ::synod::base::assert_failed(#cond, __FILE__, __LINE__, (why));        \
  } while (false)

// SYNOD_MAYBE(cond): the dual of an assertion. It documents that both
// outcomes of `cond` are legitimate at this point, and checks nothing.
#define SYNOD_MAYBE(cond) static_cast<void>(sizeof(static_cast<bool>(cond)))

// SYNOD_UNREACHABLE(): a branch the protocol rules out.
#define SYNOD_UNREACHABLE() \
  ::synod::base::assert_failed("unreachable", __FILE__, __LINE__, nullptr)
