#include <futura/loop.hpp>
#include <futura/promise.hpp>

#define BOOST_TEST_MODULE loop
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

/// Runs the io_context until it has no work left, but at most `limit`; true if it ran out of
/// work (rather than out of time).
bool runs_out_of_work(asio::io_context& ioc, std::chrono::seconds limit = 10s) {
  ioc.run_for(limit);
  return ioc.stopped();
}

using test_support::what_of;

asio::awaitable<int> value_of(int v) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  co_return v;
}

asio::awaitable<int> fails(std::string what) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  throw std::runtime_error(what);
}

/// Awaits `f` and returns its value plus one.
asio::awaitable<int> awaits(futura::future<int> f) {
  int const v = co_await f;
  co_return v + 1;
}

/// Counts `started` down, then awaits `f` and returns its value plus one.
asio::awaitable<int> awaits_after_signalling(futura::future<int> f, std::latch& started) {
  started.count_down();
  int const v = co_await f;
  co_return v + 1;
}

/// Awaits `f`; on cancellation returns `instead`.
asio::awaitable<int> awaits_catching(futura::future<int> f, int instead) {
  try {
    co_return co_await f;
  } catch (futura::cancelled_error const&) {
    co_return instead;
  }
}

/// Marks that it started, then sleeps an hour.
asio::awaitable<int> sleeps_an_hour(bool& started) {
  started = true;
  co_await futura::sleep(1h);
  co_return 0;
}

/// Sleeps until cancelled, then takes one more loop turn to clean up before rethrowing:
/// wait_for must wait for that cleanup.
asio::awaitable<int> cleans_up_when_cancelled(bool& cleaned_up) {
  bool cancelled = false;
  try {
    co_await futura::sleep(1h);
  } catch (futura::cancelled_error const&) {
    cancelled = true;
  }
  if (cancelled) {
    co_await asio::this_coro::reset_cancellation_state();
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    cleaned_up = true;
    throw futura::cancelled_error();
  }
  co_return 0;
}

/// Sleeps until cancelled, then suppresses the cancellation and returns `v`.
asio::awaitable<int> suppresses_cancellation(int v) {
  try {
    co_await futura::sleep(1h);
  } catch (futura::cancelled_error const&) {
    co_return v;
  }
  co_return 0;
}

/// wait_for(f, d); on timeout_error, notes what `flag` was at that moment, and rethrows.
asio::awaitable<int> wait_for_noting(futura::future<int> f, std::chrono::milliseconds d,
                                     bool const& flag, bool& flag_at_timeout) {
  try {
    co_return co_await futura::wait_for(f, d);
  } catch (futura::timeout_error const&) {
    flag_at_timeout = flag;
    throw;
  }
}

/// Makes `body` a task on this loop, and waits for it at most `d`.
asio::awaitable<int> wait_for_a_new_task(asio::awaitable<int> body, std::chrono::milliseconds d) {
  auto inner = futura::create_task(co_await asio::this_coro::executor, std::move(body));
  co_return co_await futura::wait_for(inner, d);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(create_future)

BOOST_AUTO_TEST_CASE(callbacks_are_posted_never_run_inside_set_result) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  std::vector<int> bag;
  f.add_done_callback([&] { bag.push_back(42); });
  f.add_done_callback([&] { bag.push_back(17); });
  f.set_result(1);
  BOOST_TEST(f.done());
  BOOST_TEST(bag.empty());
  BOOST_TEST(ioc.poll() > 0u);
  BOOST_TEST(bag == (std::vector<int>{42, 17}));
}

BOOST_AUTO_TEST_CASE(a_callback_added_after_completion_is_posted_too) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc.get_executor());
  f.set_result(3);
  int seen = 0;
  f.add_done_callback([&](futura::future<int> const& d) { seen = d.result(); });
  BOOST_TEST(seen == 0);
  ioc.poll();
  BOOST_TEST(seen == 3);
}

BOOST_AUTO_TEST_CASE(cancel_also_posts_the_callbacks) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  bool saw_cancelled = false;
  f.add_done_callback([&](futura::future<int> const& d) { saw_cancelled = d.cancelled(); });
  BOOST_TEST(f.cancel());
  BOOST_TEST(!saw_cancelled);
  ioc.poll();
  BOOST_TEST(saw_cancelled);
}

BOOST_AUTO_TEST_CASE(remove_done_callback_counts_what_it_removed_and_only_the_rest_run) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  int cb1 = 0, cb2 = 0;
  auto const first = f.add_done_callback([&] { ++cb1; });
  auto const second = f.add_done_callback([&] { ++cb2; });
  BOOST_TEST(f.remove_done_callback(second) == 1u);
  BOOST_TEST(f.remove_done_callback(second) == 0u);
  BOOST_TEST(f.remove_done_callback(first + second + 1000) == 0u);
  f.add_done_callback([&] { ++cb2; });
  std::vector<futura::callback_id> copies{first};
  for (int i = 0; i < 5; ++i) copies.push_back(f.add_done_callback([&] { ++cb1; }));
  std::size_t removed = 0;
  for (auto id : copies) removed += f.remove_done_callback(id);
  BOOST_TEST(removed == 6u);
  f.set_result(0);
  ioc.poll();
  BOOST_TEST(cb1 == 0);
  BOOST_TEST(cb2 == 1);
}

BOOST_AUTO_TEST_CASE(a_callback_bound_to_an_executor_runs_on_that_executor) {
  asio::io_context ioc, other;
  auto f = futura::create_future<int>(ioc);
  bool ran_on_other = false, ran = false;
  f.add_done_callback(asio::bind_executor(other, [&] {
    ran = true;
    ran_on_other = other.get_executor().running_in_this_thread();
  }));
  f.set_result(1);
  ioc.poll();
  BOOST_TEST(!ran);
  other.poll();
  BOOST_TEST(ran);
  BOOST_TEST(ran_on_other);
}

BOOST_AUTO_TEST_CASE(result_and_exception_on_a_pending_future_inside_its_loop_throw_at_once) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  std::string result_what, exception_what;
  asio::post(ioc, [&] {
    try {
      f.result();
    } catch (futura::invalid_state_error const& e) {
      result_what = e.what();
    }
    try {
      (void)f.exception();
    } catch (futura::invalid_state_error const& e) {
      exception_what = e.what();
    }
  });
  ioc.run();
  BOOST_TEST(result_what == "Result is not set.");
  BOOST_TEST(exception_what == "Exception is not set.");
  BOOST_TEST(!f.done());
}

// Strands of every spelling Asio hands out run on the io_context: their futures are the
// loop's (and futura posts to them through the loop, never racing Asio's strand shutdown).
BOOST_AUTO_TEST_CASE(a_future_on_any_strand_of_a_loop_is_bound_to_that_loop) {
  asio::io_context ioc;
  auto const strand = asio::make_strand(ioc);
  std::vector<asio::any_io_executor> const executors{
      strand, asio::prefer(strand, asio::execution::outstanding_work.tracked),
      asio::make_strand(asio::any_io_executor(ioc.get_executor()))};
  std::vector<std::string> seen;
  for (auto const& ex : executors) {
    auto f = futura::create_future<int>(ex);
    asio::post(ex, [&seen, f] {
      try {
        f.result(0s);
        seen.push_back("returned");
      } catch (futura::invalid_state_error const& e) {
        seen.push_back(e.what());
      } catch (futura::timeout_error const&) {
        seen.push_back("timed out");  // not treated as the loop's
      }
    });
  }
  while (seen.size() < executors.size() && ioc.run_one()) {  // the tracked one is work
  }
  BOOST_TEST(seen == std::vector<std::string>(3, "Result is not set."),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(result_on_a_done_future_inside_its_loop_returns_the_value) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  f.set_result(8);
  int seen = 0;
  asio::post(ioc, [&] { seen = f.result(); });
  ioc.run();
  BOOST_TEST(seen == 8);
}

BOOST_AUTO_TEST_CASE(a_blocking_result_from_another_thread_simply_waits) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  std::latch started(1);
  int seen = 0;
  std::thread waiter([&] {
    started.count_down();
    seen = f.result();
  });
  started.wait();
  asio::post(ioc, [&] { f.set_result(42); });
  ioc.run();
  waiter.join();
  BOOST_TEST(seen == 42);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(create_task)

BOOST_AUTO_TEST_CASE(a_task_delivers_the_coroutine_value_or_exception) {
  asio::io_context ioc;
  auto good = futura::create_task(ioc, value_of(5));
  auto bad = futura::create_task(ioc.get_executor(), fails("Fail!"));
  static_assert(std::is_same_v<decltype(good), futura::future<int>>);
  BOOST_TEST(!good.done());
  BOOST_CHECK_NO_THROW(ioc.run());
  BOOST_TEST(good.result() == 5);
  BOOST_TEST(what_of(bad) == "Fail!");
}

BOOST_AUTO_TEST_CASE(a_task_cancelled_before_it_starts_never_runs) {
  asio::io_context ioc;
  bool started = false;
  auto task = futura::create_task(ioc, sleeps_an_hour(started));
  BOOST_TEST(task.cancel());
  BOOST_TEST(task.cancelled());
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(!started);
  BOOST_TEST(task.cancelled());
}

BOOST_AUTO_TEST_CASE(cancelling_a_task_cancels_the_future_it_awaits) {
  asio::io_context ioc;
  auto inner = futura::create_future<int>(ioc);
  auto task = futura::create_task(ioc, awaits(inner));
  ioc.poll();
  BOOST_TEST(task.running());
  BOOST_TEST(task.cancel());
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(inner.cancelled());
  BOOST_TEST(task.cancelled());
  BOOST_CHECK_THROW(task.result(), futura::cancelled_error);
  BOOST_TEST(task.cancel());  // cancelled already: true, as concurrent.futures says
}

BOOST_AUTO_TEST_CASE(a_task_that_catches_the_cancellation_and_returns_is_not_cancelled) {
  asio::io_context ioc;
  auto inner = futura::create_future<int>(ioc);
  auto task = futura::create_task(ioc, awaits_catching(inner, 42));
  ioc.poll();
  BOOST_TEST(task.cancel());
  ioc.run();
  BOOST_TEST(!task.cancelled());
  BOOST_TEST(task.result() == 42);
}

BOOST_AUTO_TEST_CASE(create_task_from_another_thread_is_run_coroutine_threadsafe) {
  asio::io_context ioc;
  auto work = asio::make_work_guard(ioc);
  std::thread loop([&] { ioc.run(); });

  auto good = futura::create_task(ioc, value_of(3));
  BOOST_TEST(good.result() == 3);

  auto bad = futura::create_task(ioc, fails("Fail!"));
  BOOST_CHECK_EXCEPTION(bad.result(), std::runtime_error,
                        [](auto const& e) { return std::string(e.what()) == "Fail!"; });

  auto inner = futura::create_future<int>(ioc);
  std::latch started(1);
  auto waiting = futura::create_task(ioc, awaits_after_signalling(inner, started));
  started.wait();  // the cancellation posted below reaches the coroutine once it waits
  BOOST_CHECK_THROW(waiting.result(0ms), futura::timeout_error);
  BOOST_TEST(waiting.cancel());
  BOOST_CHECK_THROW(waiting.result(), futura::cancelled_error);
  BOOST_TEST(waiting.cancelled());
  inner.wait();
  BOOST_TEST(inner.cancelled());

  work.reset();
  loop.join();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(run_and_sleep)

BOOST_AUTO_TEST_CASE(run_returns_the_value_of_main) {
  BOOST_TEST(futura::run(value_of(11)) == 11);
}

BOOST_AUTO_TEST_CASE(run_rethrows_what_main_throws) {
  BOOST_CHECK_EXCEPTION(futura::run(fails("main failed")), std::runtime_error,
                        [](auto const& e) { return std::string(e.what()) == "main failed"; });
}

BOOST_AUTO_TEST_CASE(run_of_a_void_coroutine_returns_when_it_is_done) {
  bool done = false;
  futura::run([](bool& d) -> asio::awaitable<void> {
    co_await futura::sleep(1ms);
    d = true;
  }(done));
  BOOST_TEST(done);
}

BOOST_AUTO_TEST_CASE(sleep_waits_at_least_its_duration) {
  auto const start = std::chrono::steady_clock::now();
  futura::run(futura::sleep(5ms));
  BOOST_TEST((std::chrono::steady_clock::now() - start >= 5ms));
}

BOOST_AUTO_TEST_CASE(a_cancelled_sleep_ends_the_task_cancelled_at_once) {
  asio::io_context ioc;
  auto task = futura::create_task(ioc, futura::sleep(1h));
  ioc.poll();
  BOOST_TEST(task.cancel());
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(task.cancelled());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(wait_for)

BOOST_AUTO_TEST_CASE(on_timeout_the_inner_task_is_cancelled_and_waited_for) {
  asio::io_context ioc;
  bool cleaned_up = false;
  auto inner = futura::create_task(ioc, cleans_up_when_cancelled(cleaned_up));
  bool cleaned_up_before_timeout_error = false;
  auto outer = futura::create_task(
      ioc, wait_for_noting(inner, 50ms, cleaned_up, cleaned_up_before_timeout_error));
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_CHECK_THROW(outer.result(), futura::timeout_error);
  BOOST_TEST(cleaned_up_before_timeout_error);
  BOOST_TEST(inner.cancelled());
}

BOOST_AUTO_TEST_CASE(a_result_before_the_timeout_wins) {
  asio::io_context ioc;
  auto inner = futura::create_future<int>(ioc);
  auto outer = futura::create_task(ioc, futura::wait_for(inner, 1h));
  ioc.poll();
  inner.set_result(4);
  BOOST_TEST(runs_out_of_work(ioc));  // the hour-long timer was cancelled too
  BOOST_TEST(outer.result() == 4);
}

BOOST_AUTO_TEST_CASE(an_exception_before_the_timeout_passes_through) {
  asio::io_context ioc;
  auto inner = futura::create_task(ioc, fails("inner failed"));
  auto outer = futura::create_task(ioc, futura::wait_for(inner, 1h));
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(what_of(outer) == "inner failed");
}

BOOST_AUTO_TEST_CASE(a_zero_or_negative_timeout_on_a_done_future_returns_its_result) {
  asio::io_context ioc;
  auto done = futura::create_future<int>(ioc);
  done.set_result(9);
  auto zero = futura::create_task(ioc, futura::wait_for(done, 0ms));
  auto negative = futura::create_task(ioc, futura::wait_for(done, -1s));
  ioc.run();
  BOOST_TEST(zero.result() == 9);
  BOOST_TEST(negative.result() == 9);
}

BOOST_AUTO_TEST_CASE(a_zero_timeout_on_a_task_not_yet_started_times_out_without_starting_it) {
  asio::io_context ioc;
  bool started = false;
  auto outer = futura::create_task(ioc, wait_for_a_new_task(sleeps_an_hour(started), 0ms));
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_CHECK_THROW(outer.result(), futura::timeout_error);
  BOOST_TEST(!started);
}

BOOST_AUTO_TEST_CASE(a_zero_timeout_on_a_running_task_cancels_it_and_times_out) {
  asio::io_context ioc;
  bool started = false;
  auto inner = futura::create_task(ioc, sleeps_an_hour(started));
  ioc.poll();
  BOOST_TEST(started);
  auto outer = futura::create_task(ioc, futura::wait_for(inner, -5ms));
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_CHECK_THROW(outer.result(), futura::timeout_error);
  BOOST_TEST(inner.cancelled());
}

BOOST_AUTO_TEST_CASE(an_inner_task_that_suppresses_the_cancellation_gives_its_value) {
  asio::io_context ioc;
  auto inner = futura::create_task(ioc, suppresses_cancellation(42));
  auto outer = futura::create_task(ioc, futura::wait_for(inner, 50ms));
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(outer.result() == 42);
  BOOST_TEST(!inner.cancelled());
}

BOOST_AUTO_TEST_CASE(cancelling_the_coroutine_running_wait_for_cancels_the_inner_future) {
  asio::io_context ioc;
  bool started = false;
  auto inner = futura::create_task(ioc, sleeps_an_hour(started));
  auto outer = futura::create_task(ioc, futura::wait_for(inner, 1h));
  ioc.poll();
  BOOST_TEST(started);
  BOOST_TEST(outer.cancel());
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(outer.cancelled());
  BOOST_TEST(inner.cancelled());
}

BOOST_AUTO_TEST_CASE(a_running_pool_future_cannot_be_cancelled_so_it_times_out_without_waiting) {
  asio::thread_pool pool(1);
  std::latch release(1);
  std::latch running(1);
  auto busy = futura::run_in_executor(pool.get_executor(), [&] {
    running.count_down();
    release.wait();
    return 5;
  });
  running.wait();
  asio::io_context ioc;
  auto outer = futura::create_task(ioc, futura::wait_for(busy, 50ms));
  BOOST_TEST(runs_out_of_work(ioc));  // returns although busy is still running
  BOOST_CHECK_THROW(outer.result(), futura::timeout_error);
  BOOST_TEST(busy.running());
  release.count_down();
  BOOST_TEST(busy.result() == 5);
  pool.join();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(timeout)

BOOST_AUTO_TEST_CASE(on_expiry_the_body_sees_cancellation_and_the_caller_gets_timeout_error) {
  bool cleaned_up = false;
  bool outer_still_usable = false;
  auto const r = futura::run([&]() -> asio::awaitable<int> {
    bool timed_out = false;
    try {
      co_return co_await futura::timeout(50ms, cleans_up_when_cancelled(cleaned_up));
    } catch (futura::timeout_error const&) {
      timed_out = true;
    }
    // The enclosing coroutine is not left cancelled: it can await again.
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    outer_still_usable = timed_out;
    co_return -1;
  }());
  BOOST_TEST(r == -1);
  BOOST_TEST(cleaned_up);
  BOOST_TEST(outer_still_usable);
}

BOOST_AUTO_TEST_CASE(a_body_that_finishes_in_time_gives_its_value) {
  BOOST_TEST(futura::run(futura::timeout(1h, value_of(6))) == 6);
}

BOOST_AUTO_TEST_CASE(other_exceptions_pass_through_the_timeout) {
  BOOST_CHECK_EXCEPTION(futura::run(futura::timeout(1h, fails("foreign"))), std::runtime_error,
                        [](auto const& e) { return std::string(e.what()) == "foreign"; });
}

// Users guess either order: timeout(what, d) reads and does the same as timeout(d, what),
// and a future with a timeout is wait_for. (wait_for(d, f) is a compile error that says so.)
BOOST_AUTO_TEST_CASE(timeout_takes_either_order_and_futures_too) {
  BOOST_TEST(futura::run(futura::timeout(value_of(6), 1h)) == 6);
  bool started = false;
  BOOST_CHECK_THROW(futura::run(futura::timeout(sleeps_an_hour(started), 0ms)),
                    futura::timeout_error);
  BOOST_TEST(!started);
  asio::io_context ioc;
  auto pending = futura::create_future<int>(ioc);
  auto done = futura::create_future<int>(ioc);
  done.set_result(7);
  auto times_out = futura::create_task(ioc, futura::timeout(pending, 1ms));
  auto first = futura::create_task(ioc, futura::timeout(done, 1h));
  auto second = futura::create_task(ioc, futura::timeout(1h, done));
  ioc.run();
  BOOST_CHECK_THROW(times_out.result(), futura::timeout_error);
  BOOST_TEST(pending.cancelled());  // as wait_for: cancelled on expiry
  BOOST_TEST(first.result() == 7);
  BOOST_TEST(second.result() == 7);
}

BOOST_AUTO_TEST_CASE(a_zero_timeout_expires_at_once) {
  bool started = false;
  BOOST_CHECK_THROW(futura::run(futura::timeout(0ms, sleeps_an_hour(started))),
                    futura::timeout_error);
  BOOST_TEST(!started);  // the body's task was cancelled before it could start
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 10: asyncio.Timeout as a scope: timeout_at, when, reschedule, expired.
BOOST_AUTO_TEST_SUITE(timeout_scope)

using clock = std::chrono::steady_clock;

BOOST_AUTO_TEST_CASE(a_passed_deadline_cancels_the_body_and_the_caller_gets_timeout_error) {
  bool saw_expired = false;
  auto never = std::make_shared<futura::promise<int>>();
  auto body = [&, f = never->get_future()](futura::timeout_scope& cm) -> asio::awaitable<int> {
    try {
      co_return co_await f;
    } catch (futura::cancelled_error const&) {
      saw_expired = cm.expired();
      throw;
    }
  };
  BOOST_CHECK_THROW(futura::run(futura::timeout_at(clock::now() - 1s, body)),
                    futura::timeout_error);
  BOOST_TEST(saw_expired);
}

BOOST_AUTO_TEST_CASE(reschedule_moves_the_deadline_and_when_reads_it) {
  auto never = std::make_shared<futura::promise<void>>();
  clock::time_point seen_before{}, seen_after{};
  auto body = [&, f = never->get_future()](futura::timeout_scope& cm) -> asio::awaitable<void> {
    seen_before = cm.when();
    BOOST_TEST(!cm.expired());
    cm.reschedule(0ms);  // due now: the wait below is cancelled
    seen_after = cm.when();
    co_await f;
  };
  BOOST_CHECK_THROW(futura::run(futura::timeout_at(clock::time_point::max(), body)),
                    futura::timeout_error);
  BOOST_TEST((seen_before == clock::time_point::max()));  // asyncio's timeout(None)
  BOOST_TEST((seen_after < clock::time_point::max()));
}

BOOST_AUTO_TEST_CASE(removing_the_deadline_lets_the_body_finish) {
  futura::promise<int> later;
  asio::io_context ioc;
  auto f = later.get_future();
  auto body = [&](futura::timeout_scope& cm) -> asio::awaitable<int> {
    cm.reschedule(clock::time_point::max());
    asio::post(ioc, [&] { later.set_result(5); });
    int v = co_await f;
    co_return v + static_cast<int>(cm.expired());
  };
  auto t = futura::create_task(ioc, futura::timeout(0ms, body));
  ioc.run();
  BOOST_TEST(t.result() == 5);
}

BOOST_AUTO_TEST_CASE(a_body_that_catches_the_expiry_and_returns_still_returns) {
  auto never = std::make_shared<futura::promise<int>>();
  auto body = [f = never->get_future()](futura::timeout_scope& cm) -> asio::awaitable<int> {
    try {
      co_await f;
    } catch (futura::cancelled_error const&) {
    }
    co_return cm.expired() ? 1 : 0;
  };
  BOOST_TEST(futura::run(futura::timeout_at(clock::now(), body)) == 1);
}

BOOST_AUTO_TEST_CASE(a_body_done_in_time_returns_and_leaves_no_timer_behind) {
  // With the hour-long timer left armed, run() would not return for an hour.
  BOOST_TEST(futura::run(futura::timeout(
                 1h, [](futura::timeout_scope&) -> asio::awaitable<int> { co_return 3; })) == 3);
  BOOST_CHECK_THROW(
      futura::run(futura::timeout(1h,
                                  [](futura::timeout_scope&) -> asio::awaitable<void> {
                                    throw std::length_error("body");
                                    co_return;
                                  })),
      std::length_error);
}

BOOST_AUTO_TEST_CASE(cancelling_the_caller_cancels_the_body_without_a_timeout_error) {
  asio::io_context ioc;
  auto never = std::make_shared<futura::promise<void>>();
  bool body_cancelled = false;
  auto body = [&, f = never->get_future()](futura::timeout_scope&) -> asio::awaitable<void> {
    try {
      co_await f;
    } catch (futura::cancelled_error const&) {
      body_cancelled = true;
      throw;
    }
  };
  auto outer = futura::create_task(ioc, futura::timeout(1h, body));
  asio::post(ioc, [&] { asio::post(ioc, [&] { outer.cancel("caller"); }); });
  ioc.run();
  BOOST_TEST(body_cancelled);
  BOOST_TEST(outer.cancelled());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(shield)

BOOST_AUTO_TEST_CASE(cancelling_the_outer_future_leaves_the_inner_running) {
  asio::io_context ioc;
  auto inner = futura::create_future<int>(ioc);
  auto outer = futura::shield(inner);
  BOOST_TEST(!(outer == inner));
  BOOST_TEST(outer.cancel());
  BOOST_TEST(outer.cancelled());
  BOOST_TEST(!inner.done());
  inner.set_result(5);
  ioc.run();
  BOOST_TEST(inner.result() == 5);
  BOOST_TEST(outer.cancelled());
}

BOOST_AUTO_TEST_CASE(cancelling_a_task_that_awaits_a_shield_leaves_the_inner_running) {
  asio::io_context ioc;
  auto inner = futura::create_future<int>(ioc);
  auto task = futura::create_task(ioc, awaits(futura::shield(inner)));
  ioc.poll();
  BOOST_TEST(task.cancel());
  ioc.run();
  BOOST_TEST(task.cancelled());
  BOOST_TEST(!inner.done());
}

BOOST_AUTO_TEST_CASE(cancelling_the_inner_future_cancels_the_outer) {
  asio::io_context ioc;
  auto inner = futura::create_future<int>(ioc);
  auto outer = futura::shield(inner);
  BOOST_TEST(inner.cancel());
  ioc.run();
  BOOST_TEST(outer.cancelled());
}

BOOST_AUTO_TEST_CASE(the_outer_future_gets_the_same_result_or_exception) {
  asio::io_context ioc;
  auto ok = futura::create_future<int>(ioc);
  auto bad = futura::create_future<int>(ioc);
  auto outer_ok = futura::shield(ok);
  auto outer_bad = futura::shield(bad);
  auto const e = std::make_exception_ptr(std::runtime_error("inner error"));
  ok.set_result(3);
  bad.set_exception(e);
  ioc.run();
  BOOST_TEST(outer_ok.result() == 3);
  BOOST_TEST((outer_bad.exception() == e));
  BOOST_TEST((bad.exception() == e));
}

BOOST_AUTO_TEST_CASE(shield_of_a_done_future_is_that_same_future) {
  asio::io_context ioc;
  auto done = futura::create_future<int>(ioc);
  done.set_result(1);
  BOOST_TEST((futura::shield(done) == done));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(run_in_executor)

BOOST_AUTO_TEST_CASE(the_future_gets_the_function_result_or_exception) {
  asio::thread_pool pool(2);
  auto ok = futura::run_in_executor(
      pool.get_executor(), [](int x) { return x * x; }, 7);
  auto bad = futura::run_in_executor(pool.get_executor(),
                                     []() -> int { throw std::invalid_argument("bad arg"); });
  BOOST_TEST(ok.result() == 49);
  BOOST_TEST(what_of(bad) == "bad arg");
  pool.join();
}

BOOST_AUTO_TEST_CASE(its_future_is_awaitable_from_a_loop) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  int const r = futura::run([&]() -> asio::awaitable<int> {
    co_return co_await futura::run_in_executor(pool, [] { return 12; });
  }());
  BOOST_TEST(r == 12);
}

BOOST_AUTO_TEST_CASE(cancelled_before_it_starts_the_function_never_runs) {
  asio::thread_pool pool(1);
  std::latch release(1), running(1);
  auto blocker = futura::run_in_executor(pool.get_executor(), [&] {
    running.count_down();
    release.wait();
  });
  std::atomic<bool> ran = false;
  auto queued = futura::run_in_executor(pool.get_executor(), [&] { ran = true; });
  running.wait();
  BOOST_TEST(queued.cancel());
  release.count_down();
  pool.join();
  BOOST_TEST(!ran);
  BOOST_TEST(queued.cancelled());
  BOOST_TEST(blocker.done());
}

BOOST_AUTO_TEST_CASE(a_shut_down_executor_throws_broken_executor_synchronously) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  pool.shutdown();
  BOOST_CHECK_THROW(futura::run_in_executor(pool, [] { return 1; }), futura::broken_executor);
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 8, section 1: nothing posts to, or reads, a destroyed io_context.
BOOST_AUTO_TEST_SUITE(loop_lifetime)

BOOST_AUTO_TEST_CASE(a_callback_of_a_future_whose_loop_died_is_dropped_and_never_posted) {
  auto const token = std::make_shared<int>(0);
  bool ran = false;
  futura::future<int> f;
  {
    asio::io_context ioc;
    f = futura::create_future<int>(ioc);
    f.add_done_callback([token, &ran] { ran = true; });
    BOOST_TEST(token.use_count() == 2);
  }
  BOOST_TEST(token.use_count() == 1);  // dropped with its loop, as Asio drops its handlers
  std::thread([&] { f.set_result(7); }).join();  // posts nowhere (ASan would see it)
  BOOST_TEST(f.result() == 7);  // the future still completes for every other thread
  BOOST_TEST(!ran);
}

BOOST_AUTO_TEST_CASE(a_timed_wait_on_a_future_whose_loop_died_never_reads_the_loop) {
  futura::future<int> f;
  {
    asio::io_context ioc;
    f = futura::create_future<int>(ioc);
  }
  std::thread([&] {
    BOOST_CHECK_THROW((void)f.result(1ms), futura::timeout_error);
    BOOST_TEST(!f.wait_for(1ms));
    f.set_result(3);
    BOOST_TEST(f.result(1ms) == 3);
  }).join();
}

BOOST_AUTO_TEST_CASE(adding_a_callback_to_a_future_whose_loop_died_throws_event_loop_is_closed) {
  futura::future<int> pending, done;
  {
    asio::io_context ioc;
    pending = futura::create_future<int>(ioc);
    done = futura::create_future<int>(ioc);
    done.set_result(1);
  }
  for (auto* f : {&pending, &done}) {
    auto const what = what_of<futura::invalid_state_error>([&] { f->add_done_callback([] {}); });
    BOOST_TEST(what.find("Event loop is closed") != std::string::npos, what);
  }
  BOOST_CHECK_THROW(pending.async_wait([](std::exception_ptr, int) {}),
                    futura::invalid_state_error);
  pending.set_result(2);  // still completes, posting nowhere
  BOOST_TEST(pending.result() == 2);
}

BOOST_AUTO_TEST_CASE(a_task_and_an_operation_future_outliving_their_loop_are_safe_to_wait_on) {
  futura::future<int> task;
  futura::future<void> timer_done;
  {
    asio::io_context ioc;
    task = futura::create_task(ioc, value_of(1));
    asio::steady_timer timer(ioc, 1h);
    timer_done = timer.async_wait(futura::use_future);
  }
  std::thread([&] {
    BOOST_CHECK_THROW(task.result(1ms), futura::broken_promise);
    BOOST_CHECK_THROW(timer_done.result(1ms), futura::broken_promise);
  }).join();
  BOOST_CHECK_THROW(task.add_done_callback([] {}), futura::invalid_state_error);
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 8, section 2: a task's cancellation is serialised with its coroutine, delivered
// where it is suspended, never lost, and never lets a started operation outlive its frame.
BOOST_AUTO_TEST_SUITE(task_cancellation)

BOOST_AUTO_TEST_CASE(cancel_from_a_third_thread_of_a_task_on_a_two_thread_loop_is_serialised) {
  int const rounds = 200;
  for (int i = 0; i < rounds; ++i) {
    asio::io_context ioc;
    auto guard = asio::make_work_guard(ioc);
    std::thread a([&] { ioc.run(); }), b([&] { ioc.run(); });
    // A task that keeps switching between threads, so that it runs while cancel() lands.
    auto task = futura::create_task(ioc, []() -> asio::awaitable<int> {
      auto ex = co_await asio::this_coro::executor;
      for (;;) {
        asio::steady_timer t(ex, 10us);
        co_await t.async_wait(futura::use_future);
        co_await asio::post(ex, asio::use_awaitable);
      }
    });
    std::thread([&] { task.cancel(); }).join();  // TSan: never while the coroutine runs
    std::string const what = what_of<futura::cancelled_error>([&] { (void)task.result(10s); });
    BOOST_TEST(what == "cancelled", "round " << i);
    guard.reset();
    a.join();
    b.join();
  }
}

BOOST_AUTO_TEST_CASE(a_task_cancelled_while_it_awaits_a_running_pool_future_gets_it_at_once) {
  asio::io_context ioc;
  futura::thread_pool_executor pool{{.max_workers = 1}};
  std::latch started{1}, release{1};
  auto slow = pool.submit([&] {
    started.count_down();
    release.wait();
    return 1;
  });
  started.wait();  // it runs: it cannot be cancelled any more
  bool read_started = false;
  asio::ip::tcp::socket never_read(ioc);
  auto task = futura::create_task(ioc, [&]() -> asio::awaitable<int> {
    int const v = co_await slow;
    std::array<char, 16> buf;  // the frame the read would write into
    read_started = true;
    auto n = never_read.async_read_some(asio::buffer(buf), futura::use_future);
    co_return v + static_cast<int>(co_await n);
  });
  ioc.poll();  // the task waits on the pool future
  BOOST_TEST(task.cancel());
  ioc.run_for(10s);  // asyncio: the awaiting task gets CancelledError at once
  BOOST_TEST(task.cancelled());
  BOOST_TEST(!read_started);
  BOOST_TEST(!slow.done());  // left running, as Python leaves a running cf future
  release.count_down();
  BOOST_TEST(slow.result() == 1);
}

BOOST_AUTO_TEST_CASE(a_task_cancelled_as_its_future_completes_gets_it_at_that_await) {
  asio::io_context ioc;
  auto in = futura::create_future<int>(ioc);
  bool timer_started = false;
  auto task = futura::create_task(ioc, [&]() -> asio::awaitable<int> {
    int const v = co_await in;
    asio::steady_timer t(co_await asio::this_coro::executor, 1h);
    timer_started = true;
    auto hour = t.async_wait(futura::use_future);
    co_await hour;
    co_return v;
  });
  ioc.poll();  // the task waits on `in`
  BOOST_TEST(task.cancel());
  in.set_result(1);                   // completes before the cancellation reaches the task
  BOOST_TEST(runs_out_of_work(ioc));  // nothing left running: no hour-long timer
  BOOST_TEST(task.cancelled());
  BOOST_TEST(!timer_started);
}

BOOST_AUTO_TEST_CASE(a_task_that_catches_the_cancellation_goes_on_as_in_asyncio) {
  asio::io_context ioc;
  auto in = futura::create_future<int>(ioc);
  auto task = futura::create_task(ioc, [&]() -> asio::awaitable<int> {
    try {
      co_await in;
    } catch (futura::cancelled_error const&) {
    }
    // The cancellation was delivered: this operation starts and is awaited normally.
    asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
    auto tick = t.async_wait(futura::use_future);
    co_await tick;
    co_return 42;
  });
  ioc.poll();
  BOOST_TEST(task.cancel());
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(task.result() == 42);
}

BOOST_AUTO_TEST_CASE(the_cancel_message_reaches_the_coroutine_and_the_task_future) {
  asio::io_context ioc;
  auto in = futura::create_future<int>(ioc);
  std::string seen;
  auto task = futura::create_task(ioc, [&]() -> asio::awaitable<int> {
    try {
      co_return co_await in;
    } catch (futura::cancelled_error const& e) {
      seen = e.what();
      throw;
    }
  });
  ioc.poll();
  BOOST_TEST(task.cancel("shutting down"));
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(seen == "shutting down");
  BOOST_TEST(what_of<futura::cancelled_error>(task) == "shutting down");
  BOOST_TEST(in.cancelled());
  BOOST_TEST(what_of<futura::cancelled_error>(in) == "shutting down");
}

BOOST_AUTO_TEST_CASE(fut_wait_on_the_thread_of_its_loop_throws_instead_of_hanging) {
  asio::io_context ioc;
  auto f = futura::create_future<int>(ioc);
  std::string what;
  asio::post(ioc, [&] {
    what = what_of<futura::invalid_state_error>([&] { f.wait(); });
    BOOST_CHECK_THROW((void)f.wait_for(1h), futura::invalid_state_error);
  });
  ioc.run();
  BOOST_TEST(what.find("loop") != std::string::npos, what);
}

BOOST_AUTO_TEST_SUITE_END()
