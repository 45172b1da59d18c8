#include <futura/future.hpp>
#include <futura/promise.hpp>

#define BOOST_TEST_MODULE future
#include <boost/test/unit_test.hpp>

#define FUTURA_TEST_HOOK_NEW  // "one allocation per future": this program counts them
#include "test_support.hpp"

#include <array>
#include <atomic>
#include <barrier>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using test_support::capture_errors;
using test_support::report;
using test_support::what_of;

template <class T>
std::string repr(futura::future<T> const& f) {
  std::ostringstream os;
  os << f;
  return os.str();
}

using test_support::counted;
using test_support::matches;

/// Not derived from std::exception: Python's BaseException subclasses (B.10).
struct not_a_std_exception {
  int code;
};

/// What the boolean observers say, as one word.
template <class T>
std::string observed(futura::future<T> const& f) {
  if (f.cancelled()) return "cancelled";
  if (f.done()) return "finished";
  return f.running() ? "running" : "pending";
}

futura::future<int> finished_with(int v) {
  auto f = futura::create_future<int>();
  f.set_result(v);
  return f;
}
futura::future<int> failed_with(char const* what) {
  auto f = futura::create_future<int>();
  f.set_exception(std::runtime_error(what));
  return f;
}
futura::future<int> cancelled_future() {
  auto f = futura::create_future<int>();
  f.cancel();
  return f;
}
futura::future<int> running_future() {
  auto f = futura::create_future<int>();
  f.set_running_or_notify_cancel();
  return f;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// A. The state machine

// A.1
BOOST_AUTO_TEST_CASE(a_new_future_is_pending_and_neither_running_nor_done_nor_cancelled) {
  auto f = futura::create_future<int>();
  BOOST_TEST(f.valid());
  BOOST_TEST(!f.running());
  BOOST_TEST(!f.done());
  BOOST_TEST(!f.cancelled());
}

// Decisions: state() returns future_state::{pending, running, cancelled, finished}, in step
// with the boolean observers.
BOOST_AUTO_TEST_CASE(state_reports_pending_running_cancelled_and_finished) {
  using futura::future_state;
  auto f = futura::create_future<int>();
  BOOST_TEST((f.state() == future_state::pending));
  f.set_running_or_notify_cancel();
  BOOST_TEST((f.state() == future_state::running));
  f.set_result(1);
  BOOST_TEST((f.state() == future_state::finished));
  auto e = failed_with("e");
  BOOST_TEST((e.state() == future_state::finished));
  (void)e.exception();
  BOOST_TEST((cancelled_future().state() == future_state::cancelled));
  auto c = cancelled_future();
  c.set_running_or_notify_cancel();  // CANCELLED_AND_NOTIFIED is still cancelled
  BOOST_TEST((c.state() == future_state::cancelled));
  auto r = running_future();
  r.cancel();  // refused: still running
  BOOST_TEST((r.state() == future_state::running));
  r.set_result(2);
}

// A.3, A.4
BOOST_AUTO_TEST_CASE(set_running_or_notify_cancel_moves_a_pending_future_to_running) {
  auto f = futura::create_future<int>();
  BOOST_TEST(f.set_running_or_notify_cancel());
  BOOST_TEST(f.running());
  BOOST_TEST(!f.done());
  BOOST_TEST(!f.cancelled());
}

// A.2, A.3
BOOST_AUTO_TEST_CASE(cancel_on_a_pending_future_returns_true_and_makes_it_cancelled_and_done) {
  auto f = futura::create_future<int>();
  BOOST_TEST(f.cancel());
  BOOST_TEST(f.cancelled());
  BOOST_TEST(f.done());
  BOOST_TEST(!f.running());
  BOOST_CHECK_THROW(f.result(), futura::cancelled_error);
  BOOST_CHECK_THROW(f.exception(), futura::cancelled_error);
}

// A.2: a plain future has no way to interrupt its producer.
BOOST_AUTO_TEST_CASE(cancel_on_a_running_future_returns_false_and_it_stays_running) {
  auto f = running_future();
  BOOST_TEST(!f.cancel());
  BOOST_TEST(f.running());
  BOOST_TEST(!f.done());
  BOOST_TEST(!f.cancelled());
  f.set_result(3);  // the producer can still finish
  BOOST_TEST(f.result() == 3);
}

// A.2
BOOST_AUTO_TEST_CASE(cancel_on_a_finished_future_returns_false_and_keeps_the_value) {
  auto f = finished_with(42);
  BOOST_TEST(!f.cancel());
  BOOST_TEST(f.done());
  BOOST_TEST(!f.cancelled());
  BOOST_TEST(f.result() == 42);
}

// A.2
BOOST_AUTO_TEST_CASE(cancel_on_a_failed_future_returns_false_and_keeps_the_exception) {
  auto f = failed_with("kept");
  BOOST_TEST(!f.cancel());
  BOOST_TEST(f.done());
  BOOST_TEST(!f.cancelled());
  BOOST_CHECK_EXCEPTION(f.result(), std::runtime_error,
                        [](auto const& e) { return std::string(e.what()) == "kept"; });
}

// A.2, Decisions: a second cancel() returns true (concurrent.futures) and changes nothing.
BOOST_AUTO_TEST_CASE(a_second_cancel_returns_true_and_runs_no_callback_again) {
  auto f = futura::create_future<int>();
  int calls = 0;
  f.add_done_callback([&] { ++calls; });
  BOOST_TEST(f.cancel("first"));
  BOOST_TEST(f.cancel("second"));
  BOOST_TEST(f.cancel());
  BOOST_TEST(f.cancelled());
  BOOST_TEST(calls == 1);
  BOOST_TEST(what_of<futura::cancelled_error>([&] { f.result(); }) == "first");
}

// A.4: cancelled → false, and the callbacks (already run by cancel()) do not run again.
BOOST_AUTO_TEST_CASE(set_running_or_notify_cancel_on_a_cancelled_future_returns_false) {
  auto f = futura::create_future<int>();
  int calls = 0;
  f.add_done_callback([&] { ++calls; });
  f.cancel();
  BOOST_TEST(calls == 1);
  BOOST_TEST(!f.set_running_or_notify_cancel());
  BOOST_TEST(f.cancelled());
  BOOST_TEST(calls == 1);
  // futura has no separate CANCELLED_AND_NOTIFIED state: asking again still says "cancelled".
  BOOST_TEST(!f.set_running_or_notify_cancel());
  BOOST_TEST(calls == 1);
}

// A.4: from running or finished, "Future in unexpected state", and nothing changes.
BOOST_AUTO_TEST_CASE(
    set_running_or_notify_cancel_from_running_or_finished_throws_unexpected_state) {
  auto running = running_future();
  auto value = finished_with(1);
  auto error = failed_with("e");
  for (auto* f : {&running, &value, &error}) {
    auto const before = observed(*f);
    auto const msg =
        what_of<futura::invalid_state_error>([&] { f->set_running_or_notify_cancel(); });
    BOOST_TEST(msg.starts_with("Future in unexpected state"), msg);
    BOOST_TEST(observed(*f) == before);
  }
  BOOST_TEST(value.result() == 1);
  BOOST_CHECK_THROW(error.result(), std::runtime_error);
}

// A.5
BOOST_AUTO_TEST_CASE(set_result_and_set_exception_work_from_pending_and_from_running) {
  auto a = futura::create_future<int>();
  a.set_result(1);
  auto b = running_future();
  b.set_result(2);
  auto c = futura::create_future<int>();
  c.set_exception(std::runtime_error("c"));
  auto d = running_future();
  d.set_exception(std::make_exception_ptr(std::runtime_error("d")));
  for (auto* f : {&a, &b, &c, &d}) {
    BOOST_TEST(f->done());
    BOOST_TEST(!f->running());
  }
  BOOST_TEST(a.result() == 1);
  BOOST_TEST(b.result() == 2);
  BOOST_TEST(what_of<std::runtime_error>([&] { c.result(); }) == "c");
  BOOST_TEST(what_of<std::runtime_error>([&] { d.result(); }) == "d");
}

// A.6
BOOST_AUTO_TEST_CASE(a_second_set_result_throws_finished_and_keeps_the_first_value) {
  auto f = futura::create_future<int>();
  f.set_result(1);
  auto const msg = what_of<futura::invalid_state_error>([&] { f.set_result(2); });
  BOOST_TEST(matches(msg, "FINISHED: <Future at 0x# state=finished returned int>"), msg);
  BOOST_TEST(msg == "FINISHED: " + repr(f));
  BOOST_CHECK_THROW(f.set_exception(std::runtime_error("late")), futura::invalid_state_error);
  BOOST_TEST(f.result() == 1);
  BOOST_TEST(!f.exception());
}

// A.6
BOOST_AUTO_TEST_CASE(a_second_set_exception_throws_finished_and_keeps_the_first_exception) {
  auto f = futura::create_future<int>();
  auto const first = std::make_exception_ptr(std::runtime_error("first"));
  f.set_exception(first);
  auto const msg =
      what_of<futura::invalid_state_error>([&] { f.set_exception(std::logic_error("second")); });
  BOOST_TEST(matches(msg, "FINISHED: <Future at 0x# state=finished raised std::runtime_error>"),
             msg);
  BOOST_CHECK_THROW(f.set_result(3), futura::invalid_state_error);
  BOOST_TEST((f.exception() == first));
}

// A.6
BOOST_AUTO_TEST_CASE(setting_a_cancelled_future_throws_cancelled_and_it_stays_cancelled) {
  auto f = futura::create_future<int>();
  f.cancel();
  auto const msg = what_of<futura::invalid_state_error>([&] { f.set_result(2); });
  BOOST_TEST(matches(msg, "CANCELLED: <Future at 0x# state=cancelled>"), msg);
  auto const msg2 =
      what_of<futura::invalid_state_error>([&] { f.set_exception(std::runtime_error("x")); });
  BOOST_TEST(msg2 == msg);
  BOOST_TEST(f.cancelled());
}

// A.7
BOOST_AUTO_TEST_CASE(the_repr_names_the_address_and_each_state) {
  auto f = futura::create_future<int>();
  BOOST_TEST(matches(repr(f), "<Future at 0x# state=pending>"), repr(f));
  auto const address = repr(f).substr(0, repr(f).find(' ', 11));  // "<Future at 0x..."
  f.set_running_or_notify_cancel();
  BOOST_TEST(repr(f) == address + " state=running>");
  BOOST_TEST(!matches(repr(f), "<Future at 0x# state=pending>"));
  f.set_result(1);
  BOOST_TEST(repr(f) == address + " state=finished returned int>");

  auto c = cancelled_future();
  BOOST_TEST(matches(repr(c), "<Future at 0x# state=cancelled>"), repr(c));
  c.set_running_or_notify_cancel();  // CANCELLED_AND_NOTIFIED still prints "cancelled"
  BOOST_TEST(matches(repr(c), "<Future at 0x# state=cancelled>"), repr(c));

  auto e = failed_with("boom");
  BOOST_TEST(matches(repr(e), "<Future at 0x# state=finished raised std::runtime_error>"), repr(e));
  (void)e.exception();

  auto s = futura::create_future<std::string>();
  s.set_result("x");
  BOOST_TEST(repr(s).find("state=finished returned std::") != std::string::npos, repr(s));

  // Copies are the same future, so they print the same; another future prints another address.
  auto const copy = f;
  BOOST_TEST(repr(copy) == repr(f));
  BOOST_TEST(repr(c).substr(0, address.size()) != address);
}

// A.7, B.10
BOOST_FIXTURE_TEST_CASE(the_repr_of_an_exception_that_is_not_a_std_exception_says_so,
                        capture_errors) {
  auto f = futura::create_future<int>();
  f.set_exception(not_a_std_exception{7});
  BOOST_TEST(matches(repr(f), "<Future at 0x# state=finished raised *>"), repr(f));
}

// ---------------------------------------------------------------------------------------
// B. result() and exception()

// B.9
BOOST_AUTO_TEST_CASE(a_zero_timeout_on_a_pending_or_running_future_throws_timeout_error) {
  auto pending = futura::create_future<int>();
  auto running = running_future();
  for (auto* f : {&pending, &running}) {
    BOOST_CHECK_THROW(f->result(0s), futura::timeout_error);
    BOOST_CHECK_THROW(f->exception(0s), futura::timeout_error);
    BOOST_TEST(!f->wait_for(0s));
    BOOST_TEST(!f->done());
  }
}

// B.9
BOOST_AUTO_TEST_CASE(a_zero_timeout_on_a_cancelled_future_throws_cancelled_error) {
  auto f = cancelled_future();
  BOOST_CHECK_THROW(f.result(0s), futura::cancelled_error);
  BOOST_CHECK_THROW(f.exception(0s), futura::cancelled_error);
  f.set_running_or_notify_cancel();  // CANCELLED_AND_NOTIFIED
  BOOST_CHECK_THROW(f.result(0s), futura::cancelled_error);
  BOOST_CHECK_THROW(f.exception(0s), futura::cancelled_error);
}

// B.9
BOOST_AUTO_TEST_CASE(a_zero_timeout_on_a_failed_future_rethrows_from_result_and_returns_it) {
  auto f = futura::create_future<int>();
  auto const e = std::make_exception_ptr(std::out_of_range("oops"));
  f.set_exception(e);
  BOOST_CHECK_THROW(f.result(0s), std::out_of_range);
  BOOST_TEST((f.exception(0s) == e));
}

// B.9
BOOST_AUTO_TEST_CASE(a_zero_timeout_on_a_finished_future_returns_the_value_and_no_exception) {
  auto f = finished_with(42);
  BOOST_TEST(f.result(0s) == 42);
  BOOST_TEST(!f.exception(0s));
  BOOST_TEST(f.wait_for(0s));
}

// B.11: a negative timeout acts like 0.
BOOST_AUTO_TEST_CASE(a_negative_timeout_acts_like_zero) {
  auto pending = futura::create_future<int>();
  BOOST_CHECK_THROW(pending.result(-1s), futura::timeout_error);
  BOOST_CHECK_THROW(pending.exception(-50ms), futura::timeout_error);
  BOOST_TEST(!pending.wait_for(-1ms));
  BOOST_TEST(finished_with(5).result(-1s) == 5);
  BOOST_TEST(!finished_with(5).exception(-1s));
  BOOST_CHECK_THROW(cancelled_future().result(-1s), futura::cancelled_error);
}

// B.11: a timeout too far away to represent on the steady clock waits like no timeout; it
// must not overflow into a deadline in the past (an immediate timeout_error).
BOOST_AUTO_TEST_CASE(a_huge_timeout_waits_like_no_timeout) {
  auto const wait_with = [](auto timeout) {
    auto f = futura::create_future<int>();
    std::latch about_to_wait{1};
    std::thread producer([&] {
      about_to_wait.wait();
      f.set_result(6);
    });
    about_to_wait.count_down();
    int v = -1;
    try {
      v = f.result(timeout);
    } catch (futura::timeout_error const&) {
      v = -2;  // timed out at once
    }
    producer.join();
    return v;
  };
  BOOST_TEST(wait_with(std::chrono::nanoseconds::max()) == 6);
  BOOST_TEST(wait_with(std::chrono::seconds::max()) == 6);
  BOOST_TEST(wait_with(std::chrono::hours::max()) == 6);
  BOOST_TEST(wait_with(std::chrono::years(1000)) == 6);
}

// B.9, B.11
BOOST_AUTO_TEST_CASE(a_50ms_timeout_on_a_pending_future_throws_timeout_error_after_50ms) {
  auto f = futura::create_future<int>();
  auto const t0 = std::chrono::steady_clock::now();
  BOOST_CHECK_THROW(f.result(50ms), futura::timeout_error);
  auto const t1 = std::chrono::steady_clock::now();
  BOOST_CHECK_THROW(f.exception(50ms), futura::timeout_error);
  auto const t2 = std::chrono::steady_clock::now();
  BOOST_TEST(!f.wait_for(50ms));
  auto const t3 = std::chrono::steady_clock::now();
  BOOST_TEST((t1 - t0 >= 50ms));
  BOOST_TEST((t2 - t1 >= 50ms));
  BOOST_TEST((t3 - t2 >= 50ms));
  // A timed-out wait leaves nothing behind: the future still completes normally.
  f.set_result(9);
  BOOST_TEST(f.result(50ms) == 9);
}

// B.10: the very object that was set, every time.
BOOST_AUTO_TEST_CASE(result_rethrows_the_very_exception_object_that_was_set) {
  auto f = futura::create_future<int>();
  auto const e = std::make_exception_ptr(std::runtime_error("same"));
  f.set_exception(e);
  void const* first = nullptr;
  void const* second = nullptr;
  try {
    f.result();
  } catch (std::runtime_error const& x) {
    first = &x;
  }
  try {
    f.result();
  } catch (std::runtime_error const& x) {
    second = &x;
  }
  void const* original = nullptr;
  try {
    std::rethrow_exception(e);
  } catch (std::runtime_error const& x) {
    original = &x;
  }
  BOOST_TEST(first == original);
  BOOST_TEST(second == original);
  BOOST_TEST((f.exception() == e));
}

// B.10: BaseException subclasses also reach result(): any thrown type does.
BOOST_FIXTURE_TEST_CASE(an_exception_not_derived_from_std_exception_reaches_result,
                        capture_errors) {
  auto f = futura::create_future<int>();
  f.set_exception(not_a_std_exception{7});
  BOOST_CHECK_EXCEPTION(f.result(), not_a_std_exception, [](auto const& e) { return e.code == 7; });
}

// B.11
BOOST_AUTO_TEST_CASE(result_with_a_timeout_waits_for_another_thread_to_set_the_value) {
  auto f = futura::create_future<int>();
  std::latch about_to_wait{1};
  std::thread producer([&] {
    about_to_wait.wait();
    f.set_result(42);
  });
  about_to_wait.count_down();
  BOOST_TEST(f.result(30s) == 42);
  producer.join();
}

// B.11
BOOST_AUTO_TEST_CASE(exception_with_a_timeout_waits_for_another_thread_to_set_the_exception) {
  auto f = futura::create_future<int>();
  auto const e = std::make_exception_ptr(std::runtime_error("late"));
  std::latch about_to_wait{1};
  std::thread producer([&] {
    about_to_wait.wait();
    f.set_exception(e);
  });
  about_to_wait.count_down();
  BOOST_TEST((f.exception(30s) == e));
  producer.join();
}

// B.11: no timeout waits forever, i.e. until the producer arrives.
BOOST_AUTO_TEST_CASE(result_and_exception_without_a_timeout_wait_for_another_thread) {
  auto f = futura::create_future<std::string>();
  auto g = futura::create_future<void>();
  std::latch about_to_wait{1};
  std::thread producer([&] {
    about_to_wait.wait();
    f.set_result("done");
    g.set_result();
  });
  about_to_wait.count_down();
  BOOST_TEST(f.result() == "done");
  BOOST_TEST(!g.exception());
  producer.join();
}

// B.12
BOOST_AUTO_TEST_CASE(a_thread_blocked_in_result_with_a_timeout_gets_cancelled_error_on_cancel) {
  auto f = futura::create_future<int>();
  std::latch about_to_wait{1};
  std::string outcome;
  std::thread waiter([&] {
    about_to_wait.count_down();
    try {
      f.result(30s);
      outcome = "value";
    } catch (futura::cancelled_error const&) {
      outcome = "cancelled";
    } catch (futura::timeout_error const&) {
      outcome = "timeout";
    }
  });
  about_to_wait.wait();
  BOOST_TEST(f.cancel());
  waiter.join();
  BOOST_TEST(outcome == "cancelled");
}

// B.12
BOOST_AUTO_TEST_CASE(a_thread_blocked_in_exception_with_a_timeout_gets_cancelled_error_on_cancel) {
  auto f = futura::create_future<int>();
  std::latch about_to_wait{1};
  std::string outcome;
  std::thread waiter([&] {
    about_to_wait.count_down();
    try {
      outcome = f.exception(30s) ? "exception" : "none";
    } catch (futura::cancelled_error const& e) {
      outcome = e.what();
    }
  });
  about_to_wait.wait();
  BOOST_TEST(f.cancel("stopped by the test"));
  waiter.join();
  BOOST_TEST(outcome == "stopped by the test");
}

// I.53: cancel(msg) travels as the cancelled_error's what().
BOOST_AUTO_TEST_CASE(cancel_with_a_message_makes_it_the_cancelled_error_what) {
  auto f = futura::create_future<int>();
  f.cancel("my message");
  BOOST_TEST(what_of<futura::cancelled_error>([&] { f.result(); }) == "my message");
  BOOST_TEST(what_of<futura::cancelled_error>([&] { f.exception(); }) == "my message");
  BOOST_TEST(what_of<futura::cancelled_error>([&] { f.result(0s); }) == "my message");

  auto g = futura::create_future<int>();
  g.cancel();
  BOOST_TEST(what_of<futura::cancelled_error>([&] { g.result(); }) ==
             futura::cancelled_error().what());
}

// ---------------------------------------------------------------------------------------
// C. Done callbacks

// C.13
BOOST_AUTO_TEST_CASE(a_callback_receives_the_future_and_runs_once_on_set_result) {
  auto f = futura::create_future<int>();
  int calls = 0;
  int seen = 0;
  bool same_future = false;
  f.add_done_callback([&](futura::future<int> const& done) {
    ++calls;
    same_future = done == f;
    seen = done.result();
  });
  BOOST_TEST(calls == 0);
  f.set_result(5);
  BOOST_TEST(calls == 1);
  BOOST_TEST(same_future);
  BOOST_TEST(seen == 5);
  BOOST_CHECK_THROW(f.set_result(6), futura::invalid_state_error);
  f.cancel();
  BOOST_TEST(calls == 1);
}

// C.13
BOOST_AUTO_TEST_CASE(a_callback_runs_once_on_set_exception_and_sees_the_exception) {
  auto f = futura::create_future<int>();
  int calls = 0;
  std::string seen;
  f.add_done_callback([&](futura::future<int> const& done) {
    ++calls;
    try {
      std::rethrow_exception(done.exception());
    } catch (std::runtime_error const& e) {
      seen = e.what();
    }
  });
  f.set_exception(std::runtime_error("bad"));
  BOOST_TEST(calls == 1);
  BOOST_TEST(seen == "bad");
}

// C.13: for cancel() it runs at cancel() time in the cancelling thread, not at
// set_running_or_notify_cancel.
BOOST_AUTO_TEST_CASE(a_callback_runs_at_cancel_time_in_the_cancelling_thread) {
  auto f = futura::create_future<int>();
  int calls = 0;
  bool saw_cancelled = false;
  std::thread::id ran_on;
  f.add_done_callback([&](futura::future<int> const& done) {
    ++calls;
    saw_cancelled = done.cancelled();
    ran_on = std::this_thread::get_id();
  });
  std::thread::id canceller;
  std::thread t([&] {
    canceller = std::this_thread::get_id();
    f.cancel();
  });
  t.join();
  BOOST_TEST(calls == 1);
  BOOST_TEST(saw_cancelled);
  BOOST_TEST((ran_on == canceller));
  f.set_running_or_notify_cancel();
  BOOST_TEST(calls == 1);
}

// C.13, C.17 for plain futures: inline in the thread that completes the future.
BOOST_AUTO_TEST_CASE(a_callback_runs_inline_in_the_thread_that_completes_the_future) {
  auto f = futura::create_future<int>();
  std::thread::id ran_on;
  f.add_done_callback([&] { ran_on = std::this_thread::get_id(); });
  std::thread::id producer;
  std::thread t([&] {
    producer = std::this_thread::get_id();
    f.set_result(1);
  });
  t.join();
  BOOST_TEST((ran_on == producer));
  BOOST_TEST((ran_on != std::this_thread::get_id()));
}

// C.14
BOOST_AUTO_TEST_CASE(a_callback_added_to_a_done_future_runs_at_once_in_the_callers_thread) {
  auto value = finished_with(1);
  auto error = failed_with("e");
  auto cancelled = cancelled_future();
  for (auto* f : {&value, &error, &cancelled}) {
    int calls = 0;
    std::thread::id ran_on;
    bool same_future = false;
    f->add_done_callback([&](futura::future<int> const& done) {
      ++calls;
      ran_on = std::this_thread::get_id();
      same_future = done == *f;
    });
    BOOST_TEST(calls == 1);  // before add_done_callback returned
    BOOST_TEST((ran_on == std::this_thread::get_id()));
    BOOST_TEST(same_future);
  }
  (void)error.exception();
}

// C.15
BOOST_AUTO_TEST_CASE(callbacks_run_in_registration_order) {
  auto f = futura::create_future<int>();
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) f.add_done_callback([&order, i] { order.push_back(i); });
  f.set_result(0);
  f.add_done_callback([&order] { order.push_back(5); });
  BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3, 4, 5}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_callback_may_take_the_future_or_nothing) {
  auto f = futura::create_future<void>();
  int with_future = 0;
  int without = 0;
  f.add_done_callback([&](futura::future<void> const& done) { with_future += done.done(); });
  f.add_done_callback([&] { ++without; });
  // A mutable, move-only callable is fine too.
  f.add_done_callback([p = std::make_unique<int>(1), &without]() mutable { without += *p; });
  f.set_result();
  BOOST_TEST(with_future == 1);
  BOOST_TEST(without == 2);
}

// C.15
BOOST_FIXTURE_TEST_CASE(a_throwing_callback_is_reported_and_the_later_ones_still_run,
                        capture_errors) {
  auto f = futura::create_future<int>();
  std::vector<int> order;
  f.add_done_callback([&] { order.push_back(1); });
  f.add_done_callback([&]() -> void {
    order.push_back(2);
    throw std::runtime_error("callback failed");
  });
  f.add_done_callback([&] { order.push_back(3); });
  BOOST_CHECK_NO_THROW(f.set_result(7));
  BOOST_TEST(order == (std::vector<int>{1, 2, 3}), boost::test_tools::per_element());
  auto const r = reports();
  BOOST_REQUIRE(r.size() == 1u);
  BOOST_TEST(r[0].what == "exception calling callback for " + repr(f));
  BOOST_TEST(matches(r[0].what,
                     "exception calling callback for <Future at 0x# "
                     "state=finished returned int>"),
             r[0].what);
  BOOST_TEST(what_of<std::runtime_error>([&] { std::rethrow_exception(r[0].error); }) ==
             "callback failed");
  BOOST_TEST(f.result() == 7);
}

// C.16
BOOST_FIXTURE_TEST_CASE(a_throwing_callback_added_to_a_done_future_is_reported_not_thrown,
                        capture_errors) {
  auto f = finished_with(3);
  BOOST_CHECK_NO_THROW(f.add_done_callback([] { throw std::logic_error("late callback"); }));
  auto const r = reports();
  BOOST_REQUIRE(r.size() == 1u);
  BOOST_TEST(r[0].what == "exception calling callback for " + repr(f));
  BOOST_CHECK_THROW(std::rethrow_exception(r[0].error), std::logic_error);
}

// C.15 with cancel(): the canceller does not see the callback's exception either.
BOOST_FIXTURE_TEST_CASE(a_throwing_callback_does_not_escape_cancel, capture_errors) {
  auto f = futura::create_future<int>();
  int later = 0;
  f.add_done_callback([] { throw std::runtime_error("x"); });
  f.add_done_callback([&] { ++later; });
  bool cancelled = false;
  BOOST_CHECK_NO_THROW(cancelled = f.cancel());
  BOOST_TEST(cancelled);
  BOOST_TEST(later == 1);
  auto const r = reports();
  BOOST_REQUIRE(r.size() == 1u);
  BOOST_TEST(r[0].what.find("state=cancelled") != std::string::npos, r[0].what);
}

// I.57: remove_done_callback returns the count removed; a removed callback never runs.
BOOST_AUTO_TEST_CASE(remove_done_callback_returns_how_many_it_removed) {
  auto f = futura::create_future<int>();
  std::vector<int> bag;
  auto const id1 = f.add_done_callback([&] { bag.push_back(1); });
  auto const id2 = f.add_done_callback([&] { bag.push_back(2); });
  auto const id3 = f.add_done_callback([&] { bag.push_back(3); });
  BOOST_TEST(id1 != id2);
  BOOST_TEST(id2 != id3);
  BOOST_TEST(f.remove_done_callback(id2) == 1u);
  BOOST_TEST(f.remove_done_callback(id2) == 0u);  // already gone
  auto const other = futura::create_future<int>();
  auto const foreign = other.add_done_callback([] {});
  if (foreign != id1 && foreign != id3) BOOST_TEST(f.remove_done_callback(foreign) == 0u);
  f.set_result(0);
  BOOST_TEST(bag == (std::vector<int>{1, 3}), boost::test_tools::per_element());
  other.cancel();
}

// I.57: once the future is done every callback has run; nothing is left to remove.
BOOST_AUTO_TEST_CASE(remove_done_callback_after_completion_returns_zero) {
  auto f = futura::create_future<int>();
  int calls = 0;
  auto const before = f.add_done_callback([&] { ++calls; });
  f.set_result(1);
  auto const after = f.add_done_callback([&] { ++calls; });
  BOOST_TEST(f.remove_done_callback(before) == 0u);
  BOOST_TEST(f.remove_done_callback(after) == 0u);
  BOOST_TEST(calls == 2);
}

// I.58: changing the callback list from inside a callback neither crashes nor loses a call.
BOOST_AUTO_TEST_CASE(callbacks_may_add_and_remove_callbacks_while_the_future_completes) {
  auto f = futura::create_future<int>();
  std::vector<std::string> log;
  futura::callback_id second = 0;
  futura::callback_id self = 0;
  std::size_t removed_second = 99;
  std::size_t removed_self = 99;
  self = f.add_done_callback([&](futura::future<int> const& done) {
    log.push_back("first");
    removed_self = done.remove_done_callback(self);
    removed_second = done.remove_done_callback(second);
    done.add_done_callback([&] { log.push_back("added inside"); });
  });
  second = f.add_done_callback([&] { log.push_back("second"); });
  f.set_result(1);
  // Completion took the whole list: the second callback was due and still runs, once; the
  // one added inside runs at once, the future being done.
  BOOST_TEST(removed_self == 0u);
  BOOST_TEST(removed_second == 0u);
  BOOST_TEST(log == (std::vector<std::string>{"first", "added inside", "second"}),
             boost::test_tools::per_element());
}

// I.57: remove_done_callback only removes callbacks; an id it never handed out must not
// disturb a thread blocked on the future. Where the bug exists, the blocked thread wakes
// while the future is still pending (and result() would then rethrow a null exception_ptr).
BOOST_AUTO_TEST_CASE(remove_done_callback_with_an_unknown_id_does_not_wake_a_blocked_thread) {
  auto f = futura::create_future<int>();
  std::latch about_to_wait{1};
  std::atomic<bool> returned{false};
  bool done_when_woken = false;
  std::thread waiter([&] {
    about_to_wait.count_down();
    bool const woke = f.wait_for(30s);
    done_when_woken = woke && f.done();
    returned = true;
  });
  about_to_wait.wait();
  // Keep probing for 50 ms: long enough for the waiter to park on the future.
  std::size_t removed = 0;
  auto const until = std::chrono::steady_clock::now() + 50ms;
  while (std::chrono::steady_clock::now() < until && !returned) {
    removed += f.remove_done_callback(0);
    removed += f.remove_done_callback(~futura::callback_id{0});
  }
  BOOST_TEST(removed == 0u);
  BOOST_TEST(!returned);
  f.set_result(1);
  waiter.join();
  BOOST_TEST(done_when_woken);
}

// ---------------------------------------------------------------------------------------
// I.59: "Future exception was never retrieved"

BOOST_FIXTURE_TEST_CASE(an_exception_never_retrieved_is_reported_when_the_last_handle_dies,
                        capture_errors) {
  auto const e = std::make_exception_ptr(std::runtime_error("lost"));
  std::string repr_seen;
  {
    auto f = futura::create_future<int>();
    f.set_exception(e);
    repr_seen = repr(f);
    { auto copy = f; }
    BOOST_TEST(reports().empty());  // not while a handle remains
    BOOST_TEST(f.done());           // observers do not retrieve
    BOOST_TEST(!f.running());
  }
  auto const r = reports();
  BOOST_REQUIRE(r.size() == 1u);
  BOOST_TEST(r[0].what.starts_with("Future exception was never retrieved"), r[0].what);
  BOOST_TEST((r[0].error == e));
}

BOOST_FIXTURE_TEST_CASE(no_report_once_result_or_exception_has_retrieved_the_exception,
                        capture_errors) {
  {
    auto f = failed_with("by result");
    BOOST_CHECK_THROW(f.result(), std::runtime_error);
  }
  {
    auto f = failed_with("by exception");
    BOOST_TEST(static_cast<bool>(f.exception()));
  }
  {
    auto f = failed_with("by result with a timeout");
    BOOST_CHECK_THROW(f.result(0s), std::runtime_error);
  }
  {
    auto f = failed_with("by exception with a timeout");
    BOOST_TEST(static_cast<bool>(f.exception(0s)));
  }
  {
    auto f = failed_with("by a callback");
    f.add_done_callback([](futura::future<int> const& d) { (void)d.exception(); });
  }
  BOOST_TEST(reports().empty());
}

BOOST_FIXTURE_TEST_CASE(no_report_for_a_value_or_a_cancelled_future, capture_errors) {
  { auto f = finished_with(1); }
  { auto f = cancelled_future(); }
  {
    auto f = futura::create_future<int>();
    f.cancel("with a message");
  }
  { auto f = futura::create_future<int>(); }  // dropped pending
  BOOST_TEST(reports().empty());
}

// I.59 (CPython test_tb_logger_not_called_after_cancel): set_exception, then cancel(), then
// the last handle dies: asyncio's cancel() clears the log flag first, so nothing is logged.
BOOST_FIXTURE_TEST_CASE(no_report_after_cancel_was_called_on_a_failed_future, capture_errors) {
  {
    auto f = failed_with("cancelled afterwards");
    BOOST_TEST(!f.cancel());
  }
  BOOST_TEST(reports().empty());
}

// ---------------------------------------------------------------------------------------
// Value categories, handles, lifetime

BOOST_AUTO_TEST_CASE(a_future_of_void_completes_without_a_value) {
  auto f = futura::create_future<void>();
  static_assert(std::is_void_v<decltype(f.result())>);
  f.set_result();
  BOOST_CHECK_NO_THROW(f.result());
  BOOST_CHECK_NO_THROW(f.result(0s));
  BOOST_TEST(!f.exception());
  BOOST_TEST(matches(repr(f), "<Future at 0x# state=finished returned void>"), repr(f));
  BOOST_CHECK_THROW(f.set_result(), futura::invalid_state_error);
}

BOOST_AUTO_TEST_CASE(a_future_of_a_reference_refers_to_the_original_object) {
  int target = 1;
  auto f = futura::create_future<int&>();
  static_assert(std::is_same_v<decltype(f.result()), int&>);
  f.set_result(target);
  BOOST_TEST(&f.result() == &target);
  f.result() = 5;
  BOOST_TEST(target == 5);
}

BOOST_AUTO_TEST_CASE(a_future_of_a_move_only_type_hands_out_a_reference_to_the_stored_value) {
  auto f = futura::create_future<std::unique_ptr<int>>();
  static_assert(std::is_same_v<decltype(f.result()), std::unique_ptr<int>&>);
  auto p = std::make_unique<int>(7);
  int* const raw = p.get();
  f.set_result(std::move(p));
  BOOST_TEST(f.result().get() == raw);
  BOOST_TEST(f.result(0s).get() == raw);  // reading leaves it in place
  auto taken = std::move(f.result());     // until the reader moves it out
  BOOST_TEST(taken.get() == raw);
  BOOST_TEST(!f.result());
}

BOOST_AUTO_TEST_CASE(a_future_is_the_size_of_a_pointer) {
  static_assert(sizeof(futura::future<int>) == sizeof(void*));
  static_assert(sizeof(futura::future<void>) == sizeof(void*));
  static_assert(sizeof(futura::future<std::string>) == sizeof(void*));
  BOOST_TEST(sizeof(futura::future<int>) == sizeof(void*));
}

BOOST_AUTO_TEST_CASE(an_empty_future_throws_invalid_state_error) {
  futura::future<int> f;
  BOOST_TEST(!f.valid());
  BOOST_CHECK_THROW(f.state(), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.done(), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.running(), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.cancelled(), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.result(), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.result(0s), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.exception(), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.exception(0s), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.wait(), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.wait_for(0s), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.cancel(), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.set_running_or_notify_cancel(), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.set_result(1), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.set_exception(std::runtime_error("x")), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.add_done_callback([] {}), futura::invalid_state_error);
  BOOST_CHECK_THROW(f.remove_done_callback(1), futura::invalid_state_error);
  BOOST_TEST(repr(f) == "<Future empty>");
}

BOOST_AUTO_TEST_CASE(a_moved_from_future_is_empty_and_the_moved_to_one_is_the_same_future) {
  auto f = futura::create_future<int>();
  auto const copy = f;
  auto g = std::move(f);
  BOOST_TEST(!f.valid());
  BOOST_CHECK_THROW(f.result(0s), futura::invalid_state_error);
  BOOST_TEST((g == copy));
  g.set_result(3);
  BOOST_TEST(copy.result() == 3);
}

BOOST_AUTO_TEST_CASE(copies_are_the_same_future_and_hash_alike) {
  auto f = futura::create_future<int>();
  auto g = f;
  auto other = futura::create_future<int>();
  BOOST_TEST((f == g));
  BOOST_TEST(!(f == other));
  std::unordered_set<futura::future<int>> set{f, g, other};
  BOOST_TEST(set.size() == 2u);
  g.set_result(1);
  BOOST_TEST(f.result() == 1);
  other.cancel();
}

// I.54 in C++ terms: there is no null exception to store.
BOOST_AUTO_TEST_CASE(set_exception_with_a_null_exception_ptr_is_refused_and_leaves_it_pending) {
  auto f = futura::create_future<int>();
  BOOST_CHECK_THROW(f.set_exception(std::exception_ptr{}), std::invalid_argument);
  BOOST_TEST(!f.done());
  f.set_result(1);
  BOOST_TEST(f.result() == 1);
}

BOOST_AUTO_TEST_CASE(every_stored_value_is_destroyed_exactly_once) {
  int const constructed_before = counted::constructed;
  int const destroyed_before = counted::destroyed;
  {
    auto f = futura::create_future<counted>();
    auto copy = f;
    f.set_result(counted(1));
    BOOST_TEST(counted::alive() == 1);
    BOOST_CHECK_THROW(f.set_result(2), futura::invalid_state_error);  // never constructed
    BOOST_CHECK_THROW(copy.set_result(counted(3)), futura::invalid_state_error);
    f.add_done_callback([](futura::future<counted> const& d) { (void)d.result(); });
    BOOST_TEST(copy.result().value == 1);
    BOOST_TEST(counted::alive() == 1);
    { auto dropped = std::move(f); }
    BOOST_TEST(counted::alive() == 1);  // the copy still holds it
  }
  BOOST_TEST(counted::alive() == 0);
  {
    auto cancelled = futura::create_future<counted>();
    cancelled.cancel();
    BOOST_CHECK_THROW(cancelled.set_result(4), futura::invalid_state_error);
    auto failed = futura::create_future<counted>();
    failed.set_exception(std::runtime_error("no value"));
    (void)failed.exception();
    auto pending = futura::create_future<counted>();
  }
  BOOST_TEST(counted::alive() == 0);
  // Values set from other threads while callbacks and waiters hold handles.
  for (int i = 0; i < 50; ++i) {
    auto f = futura::create_future<counted>();
    f.add_done_callback([](futura::future<counted> const& d) { (void)d.result().value; });
    std::thread t([f] { f.set_result(counted(5)); });
    BOOST_TEST(f.result().value == 5);
    t.join();
  }
  BOOST_TEST(counted::alive() == 0);
  BOOST_TEST(counted::constructed - constructed_before == counted::destroyed - destroyed_before);
  BOOST_TEST(counted::constructed - constructed_before > 50);
}

// "One allocation per future (the shared state)": creating, completing and reading a
// future allocates once.
BOOST_AUTO_TEST_CASE(a_future_costs_one_allocation_from_creation_to_result) {
  test_support::allocations::count = 0;
  test_support::allocations::counting = true;
  {
    auto f = futura::create_future<int>();
    auto copy = f;
    f.set_result(1);
    (void)copy.result();
  }
  test_support::allocations::counting = false;
  BOOST_TEST(test_support::allocations::count == 1u);
}

// ---------------------------------------------------------------------------------------
// Races. Every round starts all threads at once on a fresh future and checks the outcome.

// A.2, A.6, B.12, C.13: set_result vs set_result vs cancel vs add/remove_done_callback vs
// result(timeout), all on one future: exactly one producer wins, every callback that was not
// removed runs exactly once, every waiter sees the winner's outcome.
BOOST_AUTO_TEST_CASE(racing_producers_cancel_callbacks_and_waiters_leave_exactly_one_winner) {
  constexpr int rounds = 2000;
  constexpr int callbacks = 8;
  constexpr int workers = 5;

  futura::future<int> f;
  std::atomic<int> won_first{0}, won_second{0}, won_cancel{0};
  std::array<std::atomic<int>, callbacks> runs{};
  std::array<std::size_t, callbacks> removed{};
  std::atomic<int> callback_saw_pending{0};
  int waiter_outcome = 0;  // the value, or -1 for cancelled_error
  int failures = 0;
  std::string first_failure;

  std::barrier sync(workers + 1);
  auto loop = [&](auto body) {
    return [&, body] {
      for (int i = 0; i < rounds; ++i) {
        sync.arrive_and_wait();
        body(i);
        sync.arrive_and_wait();
      }
    };
  };
  std::vector<std::thread> threads;
  threads.emplace_back(loop([&](int) {
    try {
      f.set_result(1);
      ++won_first;
    } catch (futura::invalid_state_error const&) {
    }
  }));
  threads.emplace_back(loop([&](int) {
    try {
      f.set_result(2);
      ++won_second;
    } catch (futura::invalid_state_error const&) {
    }
  }));
  threads.emplace_back(loop([&](int) {
    if (f.cancel()) ++won_cancel;
  }));
  threads.emplace_back(loop([&](int) {
    for (int c = 0; c < callbacks; ++c) {
      auto const id = f.add_done_callback([&, c](futura::future<int> const& d) {
        if (!d.done()) ++callback_saw_pending;
        ++runs[c];
      });
      removed[c] = c % 2 ? f.remove_done_callback(id) : 0;
    }
  }));
  threads.emplace_back(loop([&](int i) {
    auto read = [&](auto... timeout) {
      try {
        waiter_outcome = f.result(timeout...);
      } catch (futura::cancelled_error const&) {
        waiter_outcome = -1;
      }
    };
    try {
      if (i % 3 == 0)
        read(0s);
      else if (i % 3 == 1)
        read(50us);
      else
        read(30s);
    } catch (futura::timeout_error const&) {
      read();  // someone always completes it: the canceller at the latest
    }
  }));

  auto fail = [&](int round, std::string const& what) {
    if (failures++ == 0) first_failure = "round " + std::to_string(round) + ": " + what;
  };
  for (int i = 0; i < rounds; ++i) {
    f = futura::create_future<int>();
    won_first = won_second = won_cancel = 0;
    for (auto& r : runs) r = 0;
    sync.arrive_and_wait();  // go
    sync.arrive_and_wait();  // all done
    int const winners = won_first + won_second + won_cancel;
    if (winners != 1) fail(i, std::to_string(winners) + " winners");
    if (!f.done()) fail(i, "not done");
    int const expected = won_cancel ? -1 : won_first ? 1 : 2;
    if (won_cancel != int(f.cancelled())) fail(i, "cancel() said otherwise");
    if (!won_cancel && f.result(0s) != expected) fail(i, "the losing value was stored");
    if (waiter_outcome != expected) fail(i, "the waiter saw " + std::to_string(waiter_outcome));
    for (int c = 0; c < callbacks; ++c)
      if (runs[c] + static_cast<int>(removed[c]) != 1)
        fail(i, "callback " + std::to_string(c) + " ran " + std::to_string(runs[c]) +
                    " times, removed " + std::to_string(removed[c]));
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures == 0, first_failure);
  BOOST_TEST(callback_saw_pending == 0);
}

// A.2, A.4: set_running_or_notify_cancel vs cancel: exactly one of them returns true.
BOOST_AUTO_TEST_CASE(set_running_or_notify_cancel_racing_cancel_has_exactly_one_winner) {
  constexpr int rounds = 2000;
  futura::future<int> f;
  bool started = false;
  bool cancelled = false;
  std::atomic<int> callback_runs{0};
  std::barrier sync(3);
  std::thread producer([&] {
    for (int i = 0; i < rounds; ++i) {
      sync.arrive_and_wait();
      started = f.set_running_or_notify_cancel();
      if (started) f.set_result(i);
      sync.arrive_and_wait();
    }
  });
  std::thread consumer([&] {
    for (int i = 0; i < rounds; ++i) {
      sync.arrive_and_wait();
      f.add_done_callback([&] { ++callback_runs; });
      cancelled = f.cancel();
      sync.arrive_and_wait();
    }
  });
  int failures = 0;
  for (int i = 0; i < rounds; ++i) {
    f = futura::create_future<int>();
    callback_runs = 0;
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    if (started == cancelled) ++failures;
    if (started && f.result(0s) != i) ++failures;
    if (cancelled && !f.cancelled()) ++failures;
    if (callback_runs != 1) ++failures;
  }
  producer.join();
  consumer.join();
  BOOST_TEST(failures == 0);
}

// Issue 8, section 3: waiters are woken before the callbacks run, as CPython notifies its
// condition before it invokes callbacks.
BOOST_AUTO_TEST_SUITE(waiters_first)

BOOST_AUTO_TEST_CASE(a_blocked_result_returns_while_an_earlier_callback_still_runs) {
  futura::promise<int> p;
  auto f = p.get_future();
  std::promise<void> returned;
  // Registered first; it waits for the result() caller, which a waiter-last order would
  // never wake (it gives up after 10 s and says so).
  bool saw_result_first = false;
  f.add_done_callback([&, ret = returned.get_future()]() mutable {
    saw_result_first = ret.wait_for(10s) == std::future_status::ready;
  });
  std::atomic<long> tid{0};
  std::thread waiter([&] {
    tid = test_support::this_thread_tid();
    BOOST_TEST(f.result(60s) == 1);
    returned.set_value();
  });
  while (tid.load() == 0) std::this_thread::yield();
  test_support::wait_until_blocked(tid.load());  // parked on its node, after the callback's
  p.set_result(1);                               // runs the callback here, once the waiter is woken
  waiter.join();
  BOOST_TEST(saw_result_first);
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 10: the type-erased future<>, for futures of different types in one wait.
BOOST_AUTO_TEST_SUITE(type_erased_future)

BOOST_AUTO_TEST_CASE(a_future_of_any_type_is_one_pointer_and_shares_the_typed_state) {
  static_assert(sizeof(futura::future<>) == sizeof(void*));
  static_assert(std::is_same_v<futura::any_future, futura::future<>>);
  static_assert(std::is_convertible_v<futura::future<std::string>, futura::future<>>);
  static_assert(!std::is_convertible_v<futura::future<>, futura::future<int>>);
  futura::promise<std::string> p;
  auto typed = p.get_future();
  futura::future<> erased = typed;
  BOOST_TEST(erased.valid());
  BOOST_TEST((erased == typed));
  BOOST_TEST((typed == erased));
  BOOST_TEST(erased.hash() == typed.hash());
  BOOST_TEST((erased.state() == futura::future_state::pending));
  p.set_result("done");
  BOOST_TEST(erased.done());
  BOOST_TEST((erased.state() == futura::future_state::finished));
  erased.result();  // no value, no throw
  BOOST_TEST(!erased.exception());
  BOOST_TEST(erased.as<std::string>().result() == "done");
  BOOST_TEST((erased.as<std::string>() == typed));
  futura::future<> moved = std::move(typed);
  BOOST_TEST(!typed.valid());
  BOOST_TEST((moved == erased));
}

BOOST_AUTO_TEST_CASE(the_erased_future_rethrows_failures_and_cancels_the_original) {
  auto failing = futura::create_future<int>();
  futura::future<> ef = failing;
  failing.set_exception(std::runtime_error("boom"));
  BOOST_CHECK_EXCEPTION(ef.result(), std::runtime_error,
                        [](auto const& e) { return std::string(e.what()) == "boom"; });
  BOOST_TEST(static_cast<bool>(ef.exception()));

  auto pending = futura::create_future<double>();
  futura::future<> ep = pending;
  BOOST_CHECK_THROW(ep.result(0ms), futura::timeout_error);
  BOOST_TEST(!ep.wait_for(0ms));
  BOOST_TEST(ep.cancel("stop"));
  BOOST_TEST(pending.cancelled());
  BOOST_CHECK_EXCEPTION(ep.result(), futura::cancelled_error,
                        [](auto const& e) { return std::string(e.what()) == "stop"; });
}

BOOST_AUTO_TEST_CASE(as_the_wrong_type_names_both_types_and_holds_says_which) {
  auto f = futura::create_future<int>();
  futura::future<> e = f;
  BOOST_TEST(e.holds<int>());
  BOOST_TEST(!e.holds<long>());
  BOOST_CHECK_EXCEPTION(e.as<long>(), futura::invalid_state_error, [](auto const& x) {
    return std::string(x.what()) == "future<>::as<long>() on a future of int";
  });
  futura::future<> empty;
  BOOST_TEST(!empty.valid());
  BOOST_CHECK_THROW(empty.done(), futura::invalid_state_error);
  BOOST_CHECK_THROW(empty.as<int>(), futura::invalid_state_error);
  f.cancel();
}

BOOST_AUTO_TEST_CASE(a_done_callback_on_the_erased_future_gets_the_erased_future) {
  futura::promise<std::vector<int>> p;
  futura::future<> e = p.get_future();
  std::vector<std::string> seen;
  e.add_done_callback([&](futura::future<> const& d) {
    seen.push_back(d.done() && d.holds<std::vector<int>>() ? "erased" : "wrong");
  });
  auto id = e.add_done_callback([&] { seen.push_back("removed"); });
  BOOST_TEST(e.remove_done_callback(id) == 1u);
  e.add_done_callback([&] { seen.push_back("plain"); });
  BOOST_TEST(seen.empty());
  p.set_result(std::vector<int>{1, 2});
  BOOST_TEST((seen == std::vector<std::string>{"erased", "plain"}));
  std::ostringstream os;
  os << e;
  BOOST_TEST(os.str().find("state=finished returned std::vector<int") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 10: continuations, fut.then(fn).
BOOST_AUTO_TEST_SUITE(continuations)

BOOST_AUTO_TEST_CASE(then_runs_fn_on_the_value_in_the_completing_thread) {
  futura::promise<std::string> p;
  std::thread::id ran_on;
  auto size = p.get_future().then([&](std::string const& s) {
    ran_on = std::this_thread::get_id();
    return s.size();
  });
  static_assert(std::is_same_v<decltype(size), futura::future<std::size_t>>);
  BOOST_TEST(!size.done());
  std::thread::id completer;
  std::thread t([&] {
    completer = std::this_thread::get_id();
    p.set_result("hello");
  });
  t.join();
  BOOST_TEST(size.done());  // inline: done by the time set_result returned
  BOOST_TEST(size.result() == 5u);
  BOOST_TEST((ran_on == completer));
}

BOOST_AUTO_TEST_CASE(then_on_a_done_future_runs_at_once_and_chains) {
  auto f = futura::create_future<int>();
  f.set_result(20);
  auto g = f.then([](int x) { return x + 1; }).then([](int x) { return x * 2; });
  BOOST_TEST(g.done());
  BOOST_TEST(g.result() == 42);
  auto v = futura::create_future<void>();
  int calls = 0;
  auto after = v.then([&] { ++calls; });
  static_assert(std::is_same_v<decltype(after), futura::future<void>>);
  v.set_result();
  after.result();
  BOOST_TEST(calls == 1);
  auto moved = futura::create_future<std::unique_ptr<int>>();
  auto deref = moved.then([](std::unique_ptr<int> p) { return *p; });
  moved.set_result(std::make_unique<int>(9));
  BOOST_TEST(deref.result() == 9);
}

BOOST_AUTO_TEST_CASE(an_exception_from_fn_fails_the_new_future) {
  auto f = futura::create_future<int>();
  auto g = f.then([](int x) -> int { throw std::out_of_range(std::to_string(x)); });
  f.set_result(3);
  BOOST_TEST(test_support::what_of<std::out_of_range>(g) == "3");
  BOOST_TEST(f.result() == 3);  // the source is untouched
}

BOOST_AUTO_TEST_CASE(a_failure_or_cancellation_of_the_source_passes_on_without_calling_fn) {
  capture_errors errors;
  int calls = 0;
  {
    auto f = futura::create_future<int>();
    auto g = f.then([&](int) { return ++calls; });
    f.set_exception(std::runtime_error("source failed"));
    BOOST_TEST(test_support::what_of<std::runtime_error>(g) == "source failed");
  }  // the source's exception was carried on: nothing reports it as never retrieved
  auto c = futura::create_future<int>();
  auto h = c.then([&](int) { return ++calls; });
  c.cancel("stopped");
  BOOST_TEST(h.cancelled());
  BOOST_TEST(test_support::what_of<futura::cancelled_error>(h) == "stopped");
  BOOST_TEST(calls == 0);
  BOOST_TEST(errors.reports().empty());
}

BOOST_AUTO_TEST_CASE(cancelling_a_continuation_cancels_a_source_it_took_over_only) {
  int calls = 0;
  auto kept = futura::create_future<int>();
  auto from_lvalue = kept.then([&](int x) { return calls += x; });
  BOOST_TEST(from_lvalue.cancel("not needed"));
  BOOST_TEST(!kept.cancelled());  // still yours
  kept.set_result(1);
  BOOST_TEST(calls == 0);  // fn never runs for a cancelled continuation
  BOOST_TEST(kept.result() == 1);

  auto source = futura::create_future<int>();
  auto watch = source;  // to look at it afterwards
  auto from_rvalue = std::move(source).then([&](int x) { return calls += x; });
  BOOST_TEST(from_rvalue.cancel("stop everything"));
  BOOST_TEST(watch.cancelled());
  BOOST_TEST(test_support::what_of<futura::cancelled_error>(watch) == "stop everything");
  BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(a_dropped_continuation_still_runs_fn_and_an_orphaned_one_is_freed) {
  futura::promise<int> p;
  std::atomic<int> seen{0};
  p.get_future().then([&](int x) { seen = x; });  // fire and forget
  p.set_result(4);
  BOOST_TEST(seen.load() == 4);

  // A source nobody can complete, dropped after its continuation: both are freed (ASan's
  // leak check would report them), and fn never runs.
  auto token = std::make_shared<int>(0);
  {
    futura::future<int> cont;
    {
      auto lonely = futura::create_future<int>();
      cont = lonely.then([token](int) { return 0; });
    }  // now only the continuation holds the source, and the source's callback holds it
    BOOST_TEST(token.use_count() == 2);
  }
  BOOST_TEST(token.use_count() == 1);
  {
    auto lonely = futura::create_future<int>();
    {
      auto cont = lonely.then([token](int) { return 0; });
    }
    BOOST_TEST(token.use_count() == 2);  // the callback waits on the source
  }
  BOOST_TEST(token.use_count() == 1);
}

BOOST_AUTO_TEST_CASE(then_on_an_empty_future_throws) {
  futura::future<int> empty;
  BOOST_CHECK_THROW(empty.then([](int x) { return x; }), futura::invalid_state_error);
  BOOST_CHECK_THROW(std::move(empty).then([](int x) { return x; }), futura::invalid_state_error);
}

BOOST_AUTO_TEST_SUITE_END()
