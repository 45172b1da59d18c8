// test/test_support.hpp: what several test programs share.
#ifndef FUTURA_TEST_SUPPORT_HPP
#define FUTURA_TEST_SUPPORT_HPP

#include <futura/errors.hpp>

#include <boost/test/unit_test.hpp>

#include <concepts>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

}  // namespace test_support

#endif
