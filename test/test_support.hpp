// test/test_support.hpp: what several test programs share.
#ifndef FUTURA_TEST_SUPPORT_HPP
#define FUTURA_TEST_SUPPORT_HPP

#include <futura/errors.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <concepts>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

namespace test_support {

/// One thing futura reported through its callback error handler.
struct report {
  std::string what;
  std::exception_ptr error;
};

inline std::mutex g_mutex;
inline std::vector<report> g_reports;

inline void capture_handler(std::exception_ptr e, std::string_view what) {
  std::lock_guard lk(g_mutex);
  g_reports.push_back({std::string(what), std::move(e)});
}

/// Captures what futura reports (callback errors, exceptions never retrieved) for one test
/// and puts back the previous handler afterwards.
struct capture_errors {
  capture_errors() {
    std::lock_guard lk(g_mutex);
    g_reports.clear();
  }
  ~capture_errors() { futura::set_callback_error_handler(previous); }
  capture_errors(capture_errors const&) = delete;
  capture_errors& operator=(capture_errors const&) = delete;
  static std::vector<report> reports() {
    std::lock_guard lk(g_mutex);
    return g_reports;
  }
  futura::callback_error_handler previous = futura::set_callback_error_handler(&capture_handler);
};

/// The what() of the E that `f()` throws (or that `f.result()` throws, for a future); a
/// test error if it throws nothing.
template <class E = std::exception, class F>
std::string what_of(F&& f) {
  try {
    if constexpr (std::invocable<F&>)
      f();
    else
      (void)f.result();
  } catch (E const& e) {
    return e.what();
  }
  BOOST_ERROR("the expected exception was not thrown");
  return "(no exception)";
}

/// Runs a coroutine function on `io` until the loop has no work left; returns what it
/// threw, if anything (a test error if it never finished).
template <class F>
std::exception_ptr run_coroutine(boost::asio::io_context& io, F f) {
  std::exception_ptr out;
  bool finished = false;
  boost::asio::co_spawn(io, std::move(f), [&](std::exception_ptr e) {
    out = e;
    finished = true;
  });
  io.run();
  BOOST_TEST(finished);
  return out;
}

/// The calling thread's kernel id, for blocked_in_kernel().
inline long this_thread_tid() {
  return static_cast<long>(::syscall(SYS_gettid));
}

/// Waits until thread `tid` of this process sleeps in the kernel (a futex, a poll): the
/// moment a thread that said it was about to block has blocked. Linux' /proc tells.
inline void wait_until_blocked(long tid) {
  std::string const path = "/proc/self/task/" + std::to_string(tid) + "/stat";
  for (;;) {
    std::ifstream in(path);
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto const close = stat.rfind(')');  // the state follows the command name
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'S') return;
    std::this_thread::yield();
  }
}

/// `pattern` with '#' standing for one or more hex digits (an address) and '*' for one or
/// more characters other than '>' (a type name); everything else is literal.
inline bool matches(std::string_view s, std::string_view pattern) {
  std::size_t i = 0;
  for (char const p : pattern) {
    if (p == '#' || p == '*') {
      auto const fits = [p](char c) {
        return p == '#' ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : c != '>';
      };
      std::size_t const start = i;
      while (i < s.size() && fits(s[i])) ++i;
      if (i == start) return false;
    } else if (i >= s.size() || s[i++] != p) {
      return false;
    }
  }
  return i == s.size();
}

/// Counts every construction and destruction, to prove values are destroyed exactly once.
struct counted {
  static inline std::atomic<int> constructed{0};
  static inline std::atomic<int> destroyed{0};
  static int alive() { return constructed - destroyed; }
  explicit counted(int v) : value(v) { ++constructed; }
  counted(counted const& o) : value(o.value) { ++constructed; }
  counted(counted&& o) noexcept : value(o.value) { ++constructed; }
  ~counted() { ++destroyed; }
  int value;
};

/// How many times to do something in a stress test: `normal` in a plain build, divided by
/// `sanitized_divisor` under a sanitizer (FUTURA_TEST_SANITIZED), then times
/// FUTURA_STRESS_SCALE for long runs.
inline long stress_scaled(long normal, long sanitized_divisor = 10) {
#if defined(FUTURA_TEST_SANITIZED)
  normal = std::max(1L, normal / sanitized_divisor);
#else
  (void)sanitized_divisor;
#endif
  if (char const* s = std::getenv("FUTURA_STRESS_SCALE")) normal *= std::max(1L, std::atol(s));
  return normal;
}

#if defined(FUTURA_TEST_HOOK_NEW)
/// This thread's allocations: counted while `counting`; the `fail_in`-th from now (0: the
/// next) throws std::bad_alloc. For a test program that defines FUTURA_TEST_HOOK_NEW
/// before it includes this header (the program's operator new is replaced).
struct allocations {
  static inline thread_local bool counting = false;
  static inline thread_local std::size_t count = 0;
  static inline thread_local long fail_in = -1;  // -1: never
};
#endif

}  // namespace test_support

#if defined(FUTURA_TEST_HOOK_NEW)
// Out of line, so that GCC does not pair this malloc/free with new/delete at call sites.
[[gnu::noinline]] void* operator new(std::size_t n) {
  using test_support::allocations;
  if (allocations::counting) ++allocations::count;
  if (allocations::fail_in >= 0 && allocations::fail_in-- == 0) throw std::bad_alloc();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#endif

#endif
