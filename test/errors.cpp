#include <futura/errors.hpp>

#define BOOST_TEST_MODULE errors
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include <unistd.h>

namespace {

struct report {
  std::string what;
  std::exception_ptr error;
};

std::mutex g_mutex;
std::vector<report> g_first;
std::vector<report> g_second;

void first_handler(std::exception_ptr e, std::string_view what) {
  std::lock_guard lk(g_mutex);
  g_first.push_back({std::string(what), std::move(e)});
}
void second_handler(std::exception_ptr e, std::string_view what) {
  std::lock_guard lk(g_mutex);
  g_second.push_back({std::string(what), std::move(e)});
}
void throwing_handler(std::exception_ptr, std::string_view) {
  throw std::runtime_error("the handler itself failed");
}

/// Clears the captured reports and puts back whatever handler was installed before.
struct handler_guard {
  handler_guard() {
    std::lock_guard lk(g_mutex);
    g_first.clear();
    g_second.clear();
  }
  ~handler_guard() { futura::set_callback_error_handler(previous); }
  futura::callback_error_handler previous = futura::set_callback_error_handler(nullptr);
};

std::size_t count(std::vector<report> const& v) {
  std::lock_guard lk(g_mutex);
  return v.size();
}

/// Runs `f` with stderr redirected to a temporary file and returns what it wrote.
template <class F>
std::string capture_stderr(F&& f) {
  std::fflush(stderr);
  std::FILE* tmp = std::tmpfile();
  BOOST_REQUIRE(tmp);
  int const saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(tmp), STDERR_FILENO);
  f();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out;
  std::rewind(tmp);
  for (int c; (c = std::fgetc(tmp)) != EOF;) out.push_back(static_cast<char>(c));
  std::fclose(tmp);
  return out;
}

template <class E>
std::string what_of(E const& e) {
  return e.what();
}

}  // namespace

// A.8: every futura exception is a futura::error (cf.Error), which is a std::runtime_error.
BOOST_AUTO_TEST_CASE(every_futura_exception_derives_from_futura_error_and_std_runtime_error) {
  static_assert(std::is_base_of_v<std::runtime_error, futura::error>);
  static_assert(std::is_base_of_v<futura::error, futura::cancelled_error>);
  static_assert(std::is_base_of_v<futura::error, futura::timeout_error>);
  static_assert(std::is_base_of_v<futura::error, futura::invalid_state_error>);
  static_assert(std::is_base_of_v<futura::error, futura::broken_executor>);
  static_assert(std::is_base_of_v<futura::error, futura::broken_thread_pool>);
  static_assert(std::is_base_of_v<futura::error, futura::broken_promise>);

  auto caught_as_error = [](auto thrown) {
    try {
      throw thrown;
    } catch (futura::error const&) {
      return true;
    } catch (...) {
      return false;
    }
  };
  BOOST_TEST(caught_as_error(futura::cancelled_error()));
  BOOST_TEST(caught_as_error(futura::timeout_error()));
  BOOST_TEST(caught_as_error(futura::invalid_state_error("x")));
  BOOST_TEST(caught_as_error(futura::broken_executor("x")));
  BOOST_TEST(caught_as_error(futura::broken_thread_pool()));
  BOOST_TEST(caught_as_error(futura::broken_promise()));
}

// A.8: BrokenThreadPool < BrokenExecutor.
BOOST_AUTO_TEST_CASE(broken_thread_pool_is_caught_as_broken_executor) {
  static_assert(std::is_base_of_v<futura::broken_executor, futura::broken_thread_pool>);
  bool caught = false;
  try {
    throw futura::broken_thread_pool();
  } catch (futura::broken_executor const& e) {
    caught = true;
    BOOST_TEST(std::string(e.what()) ==
               "A thread initializer failed, the thread pool is not usable anymore");
  }
  BOOST_TEST(caught);
}

// A.8: CancelledError, TimeoutError and InvalidStateError are distinct classes: catching one
// never catches another.
BOOST_AUTO_TEST_CASE(the_exception_classes_are_unrelated_siblings) {
  static_assert(!std::is_base_of_v<futura::cancelled_error, futura::invalid_state_error>);
  static_assert(!std::is_base_of_v<futura::invalid_state_error, futura::cancelled_error>);
  static_assert(!std::is_base_of_v<futura::timeout_error, futura::cancelled_error>);
  static_assert(!std::is_base_of_v<futura::cancelled_error, futura::timeout_error>);
  static_assert(!std::is_base_of_v<futura::broken_executor, futura::broken_promise>);
  static_assert(!std::is_base_of_v<futura::broken_promise, futura::broken_executor>);
  BOOST_CHECK_THROW(
      [] {
        try {
          throw futura::timeout_error();
        } catch (futura::cancelled_error const&) {
        }
      }(),
      futura::timeout_error);
}

// I.53: cancel(msg) travels as what(); with no message there is a fixed default.
BOOST_AUTO_TEST_CASE(cancelled_error_carries_its_message_or_a_default) {
  BOOST_TEST(what_of(futura::cancelled_error("my message")) == "my message");
  BOOST_TEST(what_of(futura::cancelled_error()) == "cancelled");
  BOOST_TEST(what_of(futura::cancelled_error(std::string())) == what_of(futura::cancelled_error()));
}

// E.26, F.35, B.9: the messages Python uses, and the defaults.
BOOST_AUTO_TEST_CASE(each_exception_keeps_the_message_it_is_given) {
  BOOST_TEST(what_of(futura::broken_executor("cannot schedule new futures after shutdown")) ==
             "cannot schedule new futures after shutdown");
  BOOST_TEST(what_of(futura::broken_thread_pool("custom")) == "custom");
  BOOST_TEST(what_of(futura::invalid_state_error("Future in unexpected state")) ==
             "Future in unexpected state");
  BOOST_TEST(what_of(futura::timeout_error("2 (of 4) futures unfinished")) ==
             "2 (of 4) futures unfinished");
  BOOST_TEST(what_of(futura::broken_promise("gone")) == "gone");
  BOOST_TEST(!what_of(futura::timeout_error()).empty());
  BOOST_TEST(what_of(futura::broken_promise()).find("broken promise") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(set_callback_error_handler_returns_the_previous_handler, handler_guard) {
  BOOST_TEST(futura::set_callback_error_handler(&first_handler) == nullptr);  // the default
  BOOST_TEST(futura::set_callback_error_handler(&second_handler) == &first_handler);
  BOOST_TEST(futura::set_callback_error_handler(nullptr) == &second_handler);
  BOOST_TEST(futura::set_callback_error_handler(nullptr) == nullptr);
}

BOOST_FIXTURE_TEST_CASE(the_installed_handler_receives_the_exception_and_the_line, handler_guard) {
  futura::set_callback_error_handler(&first_handler);
  auto const e = std::make_exception_ptr(std::runtime_error("boom"));
  futura::detail::report_error(e, "exception calling callback for <Future>");
  std::lock_guard lk(g_mutex);
  BOOST_REQUIRE(g_first.size() == 1u);
  BOOST_TEST(g_first[0].what == "exception calling callback for <Future>");
  BOOST_TEST((g_first[0].error == e));
  BOOST_TEST(g_second.empty());
}

BOOST_FIXTURE_TEST_CASE(installing_a_handler_again_redirects_the_reports, handler_guard) {
  futura::set_callback_error_handler(&first_handler);
  futura::detail::report_error(nullptr, "one");
  auto const previous = futura::set_callback_error_handler(&second_handler);
  futura::detail::report_error(nullptr, "two");
  futura::set_callback_error_handler(previous);  // putting back what it returned restores it
  futura::detail::report_error(nullptr, "three");
  std::lock_guard lk(g_mutex);
  BOOST_REQUIRE(g_first.size() == 2u);
  BOOST_TEST(g_first[0].what == "one");
  BOOST_TEST(g_first[1].what == "three");
  BOOST_REQUIRE(g_second.size() == 1u);
  BOOST_TEST(g_second[0].what == "two");
}

BOOST_FIXTURE_TEST_CASE(nullptr_restores_the_default_handler_which_writes_one_line_on_stderr,
                        handler_guard) {
  futura::set_callback_error_handler(&first_handler);
  futura::set_callback_error_handler(nullptr);
  auto const out = capture_stderr([] {
    futura::detail::report_error(std::make_exception_ptr(std::runtime_error("boom")),
                                 "exception calling callback for <Future>");
  });
  BOOST_TEST(count(g_first) == 0u);
  BOOST_TEST(out.find("exception calling callback for <Future>") != std::string::npos);
  BOOST_TEST(out.find("boom") != std::string::npos);
  BOOST_TEST(out.find('\n') == out.size() - 1);  // exactly one line
}

BOOST_FIXTURE_TEST_CASE(a_throwing_handler_does_not_escape_report_error, handler_guard) {
  futura::set_callback_error_handler(&throwing_handler);
  static_assert(noexcept(futura::detail::report_error(nullptr, "")));
  BOOST_CHECK_NO_THROW(futura::detail::report_error(nullptr, "nobody listens"));
}

// The handler may be swapped while other threads report: every report reaches one of them.
BOOST_FIXTURE_TEST_CASE(handlers_can_be_swapped_while_other_threads_report, handler_guard) {
  constexpr int reports_per_thread = 2000;
  futura::set_callback_error_handler(&first_handler);
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    for (bool first = false; !stop.load(); first = !first)
      futura::set_callback_error_handler(first ? &first_handler : &second_handler);
  });
  std::vector<std::thread> reporters;
  for (int t = 0; t < 2; ++t)
    reporters.emplace_back([] {
      for (int i = 0; i < reports_per_thread; ++i) futura::detail::report_error(nullptr, "r");
    });
  for (auto& r : reporters) r.join();
  stop = true;
  swapper.join();
  BOOST_TEST(count(g_first) + count(g_second) == 2u * reports_per_thread);
}
