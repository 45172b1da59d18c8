#include <futura/promise.hpp>

#define BOOST_TEST_MODULE promise
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <atomic>
#include <barrier>
#include <cctype>
#include <chrono>
#include <exception>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using test_support::capture_errors;
using test_support::report;
using test_support::what_of;

using test_support::counted;
using test_support::matches;

}  // namespace

BOOST_AUTO_TEST_CASE(get_future_may_be_called_many_times_and_gives_the_same_future) {
  futura::promise<int> p;
  auto a = p.get_future();
  auto b = p.get_future();
  BOOST_TEST((a == b));
  BOOST_TEST(!a.done());
  p.set_result(5);
  BOOST_TEST(a.result() == 5);
  BOOST_TEST(b.result() == 5);
}

// A.5, B.11
BOOST_AUTO_TEST_CASE(a_promise_set_on_another_thread_wakes_the_thread_blocked_in_result) {
  futura::promise<std::string> p;
  auto f = p.get_future();
  std::latch waiting{1};
  std::thread producer([&waiting, p = std::move(p)] {
    waiting.wait();
    p.set_result("from the producer");
  });
  waiting.count_down();
  BOOST_TEST(f.result() == "from the producer");
  producer.join();
}

// A.5
BOOST_AUTO_TEST_CASE(set_exception_stores_the_exception_for_every_reader) {
  futura::promise<int> p;
  auto f = p.get_future();
  p.set_exception(std::invalid_argument("negative"));
  BOOST_TEST(f.done());
  BOOST_CHECK_EXCEPTION(f.result(), std::invalid_argument,
                        [](auto const& e) { return std::string(e.what()) == "negative"; });
  BOOST_CHECK_THROW(std::rethrow_exception(f.exception()), std::invalid_argument);
}

// A.6
BOOST_AUTO_TEST_CASE(a_second_set_result_on_a_promise_throws_finished_and_keeps_the_first_value) {
  futura::promise<int> p;
  auto f = p.get_future();
  p.set_result(1);
  auto const msg = what_of<futura::invalid_state_error>([&] { p.set_result(2); });
  BOOST_TEST(matches(msg, "FINISHED: <Future at 0x# state=finished returned int>"), msg);
  BOOST_CHECK_THROW(p.set_exception(std::runtime_error("late")), futura::invalid_state_error);
  BOOST_TEST(f.result() == 1);
}

// A.6
BOOST_AUTO_TEST_CASE(setting_a_promise_whose_future_was_cancelled_throws_cancelled) {
  futura::promise<int> p;
  auto f = p.get_future();
  BOOST_TEST(f.cancel());
  BOOST_TEST(p.done());
  BOOST_TEST(p.cancelled());
  auto const msg = what_of<futura::invalid_state_error>([&] { p.set_result(2); });
  BOOST_TEST(matches(msg, "CANCELLED: <Future at 0x# state=cancelled>"), msg);
  BOOST_CHECK_THROW(p.set_exception(std::runtime_error("late")), futura::invalid_state_error);
  BOOST_TEST(f.cancelled());
}

BOOST_AUTO_TEST_CASE(try_set_result_on_a_cancelled_future_returns_false_and_it_stays_cancelled) {
  futura::promise<int> p;
  auto f = p.get_future();
  f.cancel();
  BOOST_TEST(!p.try_set_result(1));
  BOOST_TEST(!p.try_set_exception(std::make_exception_ptr(std::runtime_error("x"))));
  BOOST_TEST(f.cancelled());
  BOOST_CHECK_THROW(f.result(), futura::cancelled_error);
}

BOOST_AUTO_TEST_CASE(try_set_result_completes_a_pending_future_once_and_then_returns_false) {
  futura::promise<int> p;
  auto f = p.get_future();
  BOOST_TEST(p.try_set_result(3));
  BOOST_TEST(!p.try_set_result(4));
  BOOST_TEST(!p.try_set_exception(std::make_exception_ptr(std::runtime_error("x"))));
  BOOST_TEST(f.result() == 3);

  futura::promise<int> q;
  BOOST_TEST(q.try_set_exception(std::make_exception_ptr(std::runtime_error("first"))));
  BOOST_TEST(!q.try_set_result(4));
  BOOST_CHECK_EXCEPTION(q.get_future().result(), std::runtime_error,
                        [](auto const& e) { return std::string(e.what()) == "first"; });
}

// A.4, C.13: the producer learns about the cancel; the callbacks ran at cancel() time.
BOOST_AUTO_TEST_CASE(set_running_or_notify_cancel_on_a_promise_reports_a_consumer_cancel) {
  futura::promise<int> p;
  auto f = p.get_future();
  int calls = 0;
  f.add_done_callback([&] { ++calls; });
  f.cancel();
  BOOST_TEST(calls == 1);
  BOOST_TEST(!p.set_running_or_notify_cancel());
  BOOST_TEST(calls == 1);
  BOOST_TEST(f.cancelled());

  futura::promise<int> q;
  BOOST_TEST(q.set_running_or_notify_cancel());
  BOOST_TEST(q.get_future().running());
  BOOST_TEST(!q.done());
}

// A.4
BOOST_AUTO_TEST_CASE(set_running_or_notify_cancel_twice_on_a_promise_throws) {
  futura::promise<int> p;
  BOOST_TEST(p.set_running_or_notify_cancel());
  auto const msg = what_of<futura::invalid_state_error>([&] { p.set_running_or_notify_cancel(); });
  BOOST_TEST(msg.starts_with("Future in unexpected state"), msg);
  BOOST_TEST(p.get_future().running());
}

BOOST_AUTO_TEST_CASE(a_dropped_promise_completes_its_future_with_broken_promise) {
  futura::future<int> f;
  {
    futura::promise<int> p;
    f = p.get_future();
  }
  BOOST_TEST(f.done());
  BOOST_TEST(!f.cancelled());
  BOOST_CHECK_THROW(f.result(), futura::broken_promise);
  BOOST_CHECK_THROW(std::rethrow_exception(f.exception()), futura::broken_promise);
  BOOST_CHECK_THROW(f.set_result(1), futura::invalid_state_error);
}

BOOST_AUTO_TEST_CASE(a_dropped_running_promise_also_breaks_its_future) {
  futura::future<int> f;
  {
    futura::promise<int> p;
    f = p.get_future();
    p.set_running_or_notify_cancel();
  }
  BOOST_CHECK_THROW(f.result(0s), futura::broken_promise);
}

BOOST_AUTO_TEST_CASE(a_dropped_promise_wakes_the_thread_blocked_in_result_with_broken_promise) {
  auto p = std::make_unique<futura::promise<int>>();
  auto f = p->get_future();
  std::latch about_to_wait{1};
  bool broken = false;
  std::thread waiter([&] {
    about_to_wait.count_down();
    try {
      f.result();
    } catch (futura::broken_promise const&) {
      broken = true;
    }
  });
  about_to_wait.wait();
  p.reset();
  waiter.join();
  BOOST_TEST(broken);
}

BOOST_AUTO_TEST_CASE(a_dropped_promise_runs_the_callbacks_with_broken_promise) {
  futura::future<void> f;
  int broken = 0;
  {
    futura::promise<void> p;
    f = p.get_future();
    f.add_done_callback([&](futura::future<void> const& done) {
      try {
        done.result();
      } catch (futura::broken_promise const&) {
        ++broken;
      }
    });
  }
  BOOST_TEST(broken == 1);
}

BOOST_AUTO_TEST_CASE(dropping_a_promise_after_it_was_set_or_cancelled_changes_nothing) {
  futura::future<int> set;
  futura::future<int> cancelled;
  {
    futura::promise<int> p;
    futura::promise<int> q;
    set = p.get_future();
    cancelled = q.get_future();
    p.set_result(8);
    cancelled.cancel("stop");
  }
  BOOST_TEST(set.result() == 8);
  BOOST_TEST(cancelled.cancelled());
  BOOST_TEST(what_of<futura::cancelled_error>([&] { cancelled.result(); }) == "stop");
}

BOOST_FIXTURE_TEST_CASE(a_promise_dropped_with_nobody_holding_its_future_reports_nothing,
                        capture_errors) {
  { futura::promise<int> p; }
  {
    futura::promise<int> p;
    (void)p.get_future();  // taken and dropped before the promise
  }
  BOOST_TEST(reports().empty());
}

BOOST_FIXTURE_TEST_CASE(a_broken_promise_nobody_retrieved_is_reported_when_the_future_dies,
                        capture_errors) {
  {
    futura::future<int> f;
    {
      futura::promise<int> p;
      f = p.get_future();
    }
    BOOST_TEST(reports().empty());  // the future still holds it
  }
  auto const r = reports();
  BOOST_REQUIRE(r.size() == 1u);
  BOOST_TEST(r[0].what.starts_with("Future exception was never retrieved"), r[0].what);
  BOOST_CHECK_THROW(std::rethrow_exception(r[0].error), futura::broken_promise);
}

BOOST_AUTO_TEST_CASE(a_moved_from_promise_throws_invalid_state_error) {
  futura::promise<int> p;
  auto f = p.get_future();
  futura::promise<int> q = std::move(p);
  BOOST_CHECK_THROW(p.get_future(), futura::invalid_state_error);
  BOOST_CHECK_THROW(p.set_result(1), futura::invalid_state_error);
  BOOST_CHECK_THROW(p.set_exception(std::runtime_error("x")), futura::invalid_state_error);
  BOOST_CHECK_THROW(p.try_set_result(1), futura::invalid_state_error);
  BOOST_CHECK_THROW(p.try_set_exception(std::make_exception_ptr(std::runtime_error("x"))),
                    futura::invalid_state_error);
  BOOST_CHECK_THROW(p.set_running_or_notify_cancel(), futura::invalid_state_error);
  BOOST_CHECK_THROW(p.done(), futura::invalid_state_error);
  BOOST_CHECK_THROW(p.cancelled(), futura::invalid_state_error);
  // The moved-to promise owns the same future, which the move left untouched.
  BOOST_TEST(!f.done());
  q.set_result(2);
  BOOST_TEST(f.result() == 2);
}

BOOST_AUTO_TEST_CASE(move_assigning_over_a_pending_promise_breaks_the_old_future) {
  futura::promise<int> p;
  auto old_future = p.get_future();
  futura::promise<int> other;
  auto new_future = other.get_future();
  p = std::move(other);
  BOOST_CHECK_THROW(old_future.result(0s), futura::broken_promise);
  BOOST_TEST(!new_future.done());
  p.set_result(4);
  BOOST_TEST(new_future.result() == 4);
}

BOOST_AUTO_TEST_CASE(swapped_promises_complete_each_others_futures) {
  futura::promise<int> a;
  futura::promise<int> b;
  auto fa = a.get_future();
  auto fb = b.get_future();
  a.swap(b);
  a.set_result(2);
  b.set_result(1);
  BOOST_TEST(fa.result() == 1);
  BOOST_TEST(fb.result() == 2);
}

BOOST_AUTO_TEST_CASE(a_promise_is_move_only) {
  static_assert(!std::is_copy_constructible_v<futura::promise<int>>);
  static_assert(!std::is_copy_assignable_v<futura::promise<int>>);
  static_assert(std::is_nothrow_move_constructible_v<futura::promise<int>>);
  BOOST_TEST(true);
}

BOOST_AUTO_TEST_CASE(promises_of_void_references_and_move_only_types_work) {
  futura::promise<void> v;
  v.set_result();
  BOOST_CHECK_NO_THROW(v.get_future().result());

  int target = 1;
  futura::promise<int&> r;
  r.set_result(target);
  BOOST_TEST(&r.get_future().result() == &target);

  futura::promise<std::unique_ptr<int>> u;
  u.set_result(std::make_unique<int>(9));
  BOOST_TEST(*u.get_future().result() == 9);
}

BOOST_AUTO_TEST_CASE(values_given_to_a_promise_are_destroyed_exactly_once) {
  int const constructed_before = counted::constructed;
  int const destroyed_before = counted::destroyed;
  {
    futura::promise<counted> p;
    auto f = p.get_future();
    p.set_result(counted(1));
    BOOST_TEST(counted::alive() == 1);  // only the stored one
    BOOST_CHECK_THROW(p.set_result(counted(2)), futura::invalid_state_error);  // refused
    BOOST_TEST(!p.try_set_result(counted(3)));
    BOOST_TEST(counted::alive() == 1);
    BOOST_TEST(f.result().value == 1);
  }
  {
    futura::promise<counted> cancelled;
    cancelled.get_future().cancel();
    BOOST_TEST(!cancelled.try_set_result(4));  // constructed from int nowhere
  }
  { futura::promise<counted> dropped; }
  BOOST_TEST(counted::alive() == 0);
  BOOST_TEST(counted::constructed - constructed_before == counted::destroyed - destroyed_before);
  BOOST_TEST(counted::constructed > constructed_before);
}

// Never a hang: however the drop interleaves with waiters arriving, every waiter wakes with
// broken_promise.
BOOST_AUTO_TEST_CASE(dropping_promises_while_threads_block_on_them_never_hangs) {
  constexpr int rounds = 1000;
  constexpr int waiters = 3;
  std::unique_ptr<futura::promise<int>> p;
  futura::future<int> f;
  std::atomic<int> broken{0};
  std::barrier sync(waiters + 2);
  std::vector<std::thread> threads;
  for (int w = 0; w < waiters; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < rounds; ++i) {
        sync.arrive_and_wait();
        try {
          if ((i + w) % 2)
            f.result();
          else
            f.result(10s);
        } catch (futura::broken_promise const&) {
          ++broken;
        }
        sync.arrive_and_wait();
      }
    });
  threads.emplace_back([&] {
    for (int i = 0; i < rounds; ++i) {
      sync.arrive_and_wait();
      p.reset();
      sync.arrive_and_wait();
    }
  });
  for (int i = 0; i < rounds; ++i) {
    p = std::make_unique<futura::promise<int>>();
    f = p->get_future();
    sync.arrive_and_wait();
    sync.arrive_and_wait();
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(broken == rounds * waiters);
}
