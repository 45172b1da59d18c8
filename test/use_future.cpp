#include <futura/use_future.hpp>

#define BOOST_TEST_MODULE use_future
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <futura/loop.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prepend.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {

/// A fake asynchronous operation, in the manner of Asio's test/archetypes/async_ops.hpp: it
/// completes with the given values through a post to its io_context, and names that
/// executor, as Asio's own initiations do.
struct initiate_complete {
  using executor_type = asio::io_context::executor_type;
  executor_type ex;
  executor_type get_executor() const noexcept { return ex; }

  template <class Handler, class... Args>
  void operator()(Handler&& h, Args&&... args) const {
    asio::post(ex, [h = std::decay_t<Handler>(std::forward<Handler>(h)),
                    ... a = std::decay_t<Args>(std::forward<Args>(args))]() mutable {
      std::move(h)(std::move(a)...);
    });
  }
};

template <class Signature, class Token, class... Args>
auto async_complete(asio::io_context& ioc, Token&& token, Args&&... args) {
  return asio::async_initiate<Token, Signature>(initiate_complete{ioc.get_executor()}, token,
                                                std::forward<Args>(args)...);
}

/// The same, but its initiation is a bare lambda that names no executor.
template <class Signature, class Token, class... Args>
auto async_complete_anonymous(asio::io_context& ioc, Token&& token, Args&&... args) {
  return asio::async_initiate<Token, Signature>(
      [ex = ioc.get_executor()](auto h, auto... a) {
        asio::post(ex, [h = std::move(h), a...]() mutable { std::move(h)(std::move(a)...); });
      },
      token, std::forward<Args>(args)...);
}

std::exception_ptr make_error(std::string const& what) {
  return std::make_exception_ptr(std::runtime_error(what));
}

using test_support::what_of;

asio::awaitable<int> answer_after(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
  co_return 42;
}

asio::awaitable<int> throws_after_a_post() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  throw std::runtime_error("coroutine failed");
}

/// Runs the io_context until it has no work left, but at most `limit`; true if it ran out of
/// work (rather than out of time).
bool runs_out_of_work(asio::io_context& ioc, std::chrono::seconds limit = 10s) {
  ioc.run_for(limit);
  return ioc.stopped();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(signatures)

BOOST_AUTO_TEST_CASE(
    void_signature_gives_a_future_void_that_finishes_when_the_operation_completes) {
  asio::io_context ioc;
  auto f = async_complete<void()>(ioc, futura::use_future);
  static_assert(std::is_same_v<decltype(f), futura::future<void>>);
  BOOST_TEST(!f.done());
  BOOST_TEST(f.running());
  BOOST_TEST(ioc.run() == 1u);
  BOOST_TEST(f.done());
  BOOST_CHECK_NO_THROW(f.result());
  BOOST_TEST(!f.exception());
}

BOOST_AUTO_TEST_CASE(error_code_signature_gives_a_future_void_or_a_system_error_with_the_code) {
  asio::io_context ioc;
  auto ok = async_complete<void(error_code)>(ioc, futura::use_future, error_code());
  auto bad = async_complete<void(error_code)>(ioc, futura::use_future,
                                              error_code(asio::error::connection_refused));
  static_assert(std::is_same_v<decltype(ok), futura::future<void>>);
  ioc.run();
  BOOST_CHECK_NO_THROW(ok.result());
  try {
    bad.result();
    BOOST_FAIL("no exception");
  } catch (boost::system::system_error const& e) {
    BOOST_TEST(e.code() == error_code(asio::error::connection_refused));
  }
  BOOST_TEST(!bad.cancelled());
}

BOOST_AUTO_TEST_CASE(exception_ptr_signature_gives_a_future_void_holding_that_very_exception) {
  asio::io_context ioc;
  auto const boom = make_error("boom");
  auto ok = async_complete<void(std::exception_ptr)>(ioc, futura::use_future, std::exception_ptr());
  auto bad = async_complete<void(std::exception_ptr)>(ioc, futura::use_future, boom);
  static_assert(std::is_same_v<decltype(bad), futura::future<void>>);
  ioc.run();
  BOOST_CHECK_NO_THROW(ok.result());
  BOOST_TEST((bad.exception() == boom));
  BOOST_CHECK_EXCEPTION(bad.result(), std::runtime_error,
                        [](auto const& e) { return std::string(e.what()) == "boom"; });
}

BOOST_AUTO_TEST_CASE(value_signature_gives_a_future_of_that_value) {
  asio::io_context ioc;
  auto f = async_complete<void(int)>(ioc, futura::use_future, 42);
  static_assert(std::is_same_v<decltype(f), futura::future<int>>);
  ioc.run();
  BOOST_TEST(f.result() == 42);
}

BOOST_AUTO_TEST_CASE(error_code_and_value_give_the_value_or_a_system_error) {
  asio::io_context ioc;
  auto ok = async_complete<void(error_code, std::string)>(ioc, futura::use_future, error_code(),
                                                          std::string("read"));
  auto bad = async_complete<void(error_code, std::string)>(
      ioc, futura::use_future, error_code(asio::error::eof), std::string("ignored"));
  static_assert(std::is_same_v<decltype(ok), futura::future<std::string>>);
  ioc.run();
  BOOST_TEST(ok.result() == "read");
  BOOST_CHECK_EXCEPTION(bad.result(), boost::system::system_error,
                        [](auto const& e) { return e.code() == asio::error::eof; });
}

BOOST_AUTO_TEST_CASE(exception_ptr_and_value_give_the_value_or_the_exception) {
  asio::io_context ioc;
  auto const boom = make_error("no value");
  auto ok = async_complete<void(std::exception_ptr, int)>(ioc, futura::use_future,
                                                          std::exception_ptr(), 7);
  auto bad = async_complete<void(std::exception_ptr, int)>(ioc, futura::use_future, boom, 0);
  static_assert(std::is_same_v<decltype(ok), futura::future<int>>);
  ioc.run();
  BOOST_TEST(ok.result() == 7);
  BOOST_TEST((bad.exception() == boom));
}

BOOST_AUTO_TEST_CASE(several_values_give_a_future_of_a_tuple) {
  asio::io_context ioc;
  auto plain =
      async_complete<void(int, std::string)>(ioc, futura::use_future, 1, std::string("one"));
  auto with_error = async_complete<void(error_code, int, std::string)>(
      ioc, futura::use_future, error_code(), 2, std::string("two"));
  static_assert(std::is_same_v<decltype(plain), futura::future<std::tuple<int, std::string>>>);
  static_assert(std::is_same_v<decltype(with_error), futura::future<std::tuple<int, std::string>>>);
  ioc.run();
  BOOST_TEST((plain.result() == std::tuple<int, std::string>(1, "one")));
  BOOST_TEST((with_error.result() == std::tuple<int, std::string>(2, "two")));
}

BOOST_AUTO_TEST_CASE(a_move_only_value_reaches_the_future) {
  asio::io_context ioc;
  auto f = async_complete<void(error_code, std::unique_ptr<int>)>(
      ioc, futura::use_future, error_code(), std::make_unique<int>(5));
  static_assert(std::is_same_v<decltype(f), futura::future<std::unique_ptr<int>>>);
  ioc.run();
  BOOST_REQUIRE(f.result());
  BOOST_TEST(*f.result() == 5);
}

BOOST_AUTO_TEST_CASE(operation_aborted_leaves_the_future_cancelled_whoever_cancelled_it) {
  asio::io_context ioc;
  auto f = async_complete<void(error_code, int)>(ioc, futura::use_future,
                                                 error_code(asio::error::operation_aborted), 0);
  ioc.run();
  BOOST_TEST(f.cancelled());
  BOOST_CHECK_THROW(f.result(), futura::cancelled_error);
}

BOOST_AUTO_TEST_CASE(an_operation_whose_initiation_names_no_executor_still_gives_a_future) {
  asio::io_context ioc;
  auto f =
      async_complete_anonymous<void(error_code, int)>(ioc, futura::use_future, error_code(), 3);
  ioc.run();
  BOOST_TEST(f.result() == 3);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(real_operations)

BOOST_AUTO_TEST_CASE(a_steady_timer_gives_a_future_void_that_finishes_when_it_expires) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1ms);
  futura::future<void> f = timer.async_wait(futura::use_future);
  BOOST_TEST(!f.done());
  ioc.run();
  BOOST_TEST(f.done());
  BOOST_CHECK_NO_THROW(f.result());
}

BOOST_AUTO_TEST_CASE(post_gives_a_future_void) {
  asio::io_context ioc;
  futura::future<void> f = asio::post(ioc, futura::use_future);
  BOOST_TEST(!f.done());
  BOOST_TEST(ioc.run_one() == 1u);
  BOOST_TEST(f.done());
  BOOST_CHECK_NO_THROW(f.result());
}

BOOST_AUTO_TEST_CASE(an_hour_long_timer_cancelled_through_its_future_really_stops) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1h);
  auto f = timer.async_wait(futura::use_future);
  BOOST_TEST(f.cancel());
  auto const start = std::chrono::steady_clock::now();
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
  BOOST_TEST(f.cancelled());
  BOOST_CHECK_THROW(f.result(), futura::cancelled_error);
}

BOOST_AUTO_TEST_CASE(cancel_from_another_thread_stops_a_timer_the_loop_is_waiting_on) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1h);
  auto f = timer.async_wait(futura::use_future);
  std::thread loop([&] { ioc.run(); });
  BOOST_TEST(f.cancel());
  f.wait();  // another thread: a plain blocking wait
  loop.join();
  BOOST_TEST(f.cancelled());
}

BOOST_AUTO_TEST_CASE(cancel_on_a_finished_operation_returns_false_and_keeps_the_result) {
  asio::io_context ioc;
  auto f = async_complete<void(error_code, int)>(ioc, futura::use_future, error_code(), 42);
  ioc.run();
  BOOST_TEST(!f.cancel());
  BOOST_TEST(!f.cancelled());
  BOOST_TEST(f.result() == 42);
}

BOOST_AUTO_TEST_CASE(a_handler_destroyed_uncalled_completes_the_future_with_broken_promise) {
  futura::future<void> posted, timed;
  {
    asio::io_context ioc;
    asio::steady_timer timer(ioc, 1h);
    posted = asio::post(ioc, futura::use_future);
    timed = timer.async_wait(futura::use_future);
    BOOST_TEST(!posted.done());
    BOOST_TEST(!timed.done());
  }  // the io_context dies with both handlers queued or pending
  BOOST_CHECK_THROW(posted.result(), futura::broken_promise);
  BOOST_CHECK_THROW(timed.result(), futura::broken_promise);
}

BOOST_AUTO_TEST_CASE(a_coroutine_spawned_with_use_future_gives_its_value_or_its_exception) {
  asio::io_context ioc;
  auto good = asio::co_spawn(ioc, answer_after(1ms), futura::use_future);
  auto bad = asio::co_spawn(ioc, throws_after_a_post(), futura::use_future);
  static_assert(std::is_same_v<decltype(good), futura::future<int>>);
  BOOST_CHECK_NO_THROW(ioc.run());
  BOOST_TEST(good.result() == 42);
  BOOST_TEST(what_of(bad) == "coroutine failed");
}

BOOST_AUTO_TEST_CASE(cancelling_a_spawned_coroutine_future_stops_the_coroutine) {
  asio::io_context ioc;
  auto f = asio::co_spawn(ioc, answer_after(1h), futura::use_future);
  ioc.poll();  // the coroutine starts and waits on its timer
  BOOST_TEST(!f.done());
  BOOST_TEST(f.cancel());
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(f.cancelled());
}

BOOST_AUTO_TEST_CASE(futures_of_io_context_operations_are_loop_bound) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1h);
  auto f = async_complete<void(error_code, int)>(ioc, futura::use_future, error_code(), 1);
  auto pending = timer.async_wait(futura::use_future);
  std::string result_what, exception_what;
  int seen_in_callback = 0;
  asio::post(ioc, [&] {
    try {
      pending.result();
    } catch (futura::invalid_state_error const& e) {
      result_what = e.what();
    }
    try {
      (void)pending.exception();
    } catch (futura::invalid_state_error const& e) {
      exception_what = e.what();
    }
    timer.cancel();
  });
  f.add_done_callback([&](futura::future<int> const& d) { seen_in_callback = d.result(); });
  ioc.run_one();  // f completes; its callback is posted, not run inside the completion
  BOOST_TEST(f.done());
  BOOST_TEST(seen_in_callback == 0);
  ioc.run();
  BOOST_TEST(seen_in_callback == 1);
  BOOST_TEST(result_what == "Result is not set.");
  BOOST_TEST(exception_what == "Exception is not set.");
  BOOST_TEST(pending.cancelled());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(adapters)

BOOST_AUTO_TEST_CASE(as_tuple_gives_a_future_of_the_tuple_with_the_error_code_inside) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1h);
  auto f = timer.async_wait(asio::as_tuple(futura::use_future));
  static_assert(std::is_same_v<decltype(f), futura::future<std::tuple<error_code>>>);
  timer.cancel();
  ioc.run();
  BOOST_TEST(!f.cancelled());
  BOOST_TEST((std::get<0>(f.result()) == asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(cancelling_a_future_through_as_tuple_still_stops_the_timer) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1h);
  auto f = timer.async_wait(asio::as_tuple(futura::use_future));
  BOOST_TEST(f.cancel());
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_REQUIRE(f.done());
  BOOST_TEST((std::get<0>(f.result()) == asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(redirect_error_moves_the_error_out_of_the_future) {
  asio::io_context ioc;
  error_code ec;
  auto f = async_complete<void(error_code, int)>(ioc, asio::redirect_error(futura::use_future, ec),
                                                 error_code(asio::error::timed_out), 9);
  static_assert(std::is_same_v<decltype(f), futura::future<int>>);
  ioc.run();
  BOOST_TEST(f.result() == 9);
  BOOST_TEST((ec == asio::error::timed_out));
}

BOOST_AUTO_TEST_CASE(redirect_error_with_an_hour_timer_is_cancelled_through_its_future) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1h);
  error_code ec;
  futura::future<void> f = timer.async_wait(asio::redirect_error(futura::use_future, ec));
  BOOST_TEST(f.cancel());
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(f.done());
  BOOST_TEST((ec == asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(append_and_prepend_add_their_values_to_the_future) {
  asio::io_context ioc;
  auto appended = asio::post(ioc, asio::append(futura::use_future, 7));
  auto prepended = async_complete<void(error_code, int)>(
      ioc, asio::prepend(futura::use_future, std::string("first")), error_code(), 3);
  static_assert(std::is_same_v<decltype(appended), futura::future<int>>);
  static_assert(std::is_same_v<decltype(prepended),
                               futura::future<std::tuple<std::string, error_code, int>>>);
  ioc.run();
  BOOST_TEST(appended.result() == 7);
  BOOST_TEST(std::get<0>(prepended.result()) == "first");
  BOOST_TEST(std::get<2>(prepended.result()) == 3);
}

BOOST_AUTO_TEST_CASE(a_parallel_group_gives_a_future_of_its_completion_order_and_values) {
  asio::io_context ioc;
  auto f = asio::experimental::make_parallel_group(
               async_complete<void(error_code, int)>(ioc, asio::deferred, error_code(), 1),
               async_complete<void(std::string)>(ioc, asio::deferred, std::string("two")))
               .async_wait(asio::experimental::wait_for_all(), futura::use_future);
  using expected = std::tuple<std::array<std::size_t, 2>, error_code, int, std::string>;
  static_assert(std::is_same_v<decltype(f), futura::future<expected>>);
  ioc.run();
  auto const& [order, ec, one, two] = f.result();
  BOOST_TEST(order[0] + order[1] == 1u);  // 0 and 1, in some order
  BOOST_TEST(!ec);
  BOOST_TEST(one == 1);
  BOOST_TEST(two == "two");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(packaged)

BOOST_AUTO_TEST_CASE(post_to_a_thread_pool_with_a_packaged_function_returns_its_future) {
  asio::thread_pool pool(2);
  auto f = asio::post(pool, futura::use_future([] { return 6 * 7; }));
  static_assert(std::is_same_v<decltype(f), futura::future<int>>);
  BOOST_TEST(f.result() == 42);
  pool.join();
}

BOOST_AUTO_TEST_CASE(an_exception_thrown_by_the_packaged_function_lands_in_the_future) {
  asio::io_context ioc;
  auto f = asio::post(ioc, futura::use_future([]() -> int { throw std::logic_error("bad fn"); }));
  BOOST_CHECK_NO_THROW(ioc.run());
  BOOST_TEST(what_of(f) == "bad fn");
}

BOOST_AUTO_TEST_CASE(the_packaged_function_receives_the_completion_values) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1h);
  auto f = timer.async_wait(futura::use_future([](error_code ec) { return ec; }));
  static_assert(std::is_same_v<decltype(f), futura::future<error_code>>);
  timer.cancel();
  ioc.run();
  BOOST_TEST((f.result() == asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(a_packaged_function_cancelled_before_the_operation_completes_never_runs) {
  asio::io_context ioc;
  bool ran = false;
  auto f = asio::post(ioc, futura::use_future([&ran] { ran = true; }));
  BOOST_TEST(f.cancel());
  ioc.run();
  BOOST_TEST(!ran);
  BOOST_TEST(f.cancelled());
}

BOOST_AUTO_TEST_CASE(a_packaged_function_dropped_with_its_io_context_breaks_the_promise) {
  futura::future<int> f;
  {
    asio::io_context ioc;
    f = asio::post(ioc, futura::use_future([] { return 1; }));
  }
  BOOST_CHECK_THROW(f.result(), futura::broken_promise);
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 8, section 2: cancellation through an operation's future is serialised with the
// operation, reaches every operation that takes a slot, and ends the future cancelled.
BOOST_AUTO_TEST_SUITE(cancellation)

BOOST_AUTO_TEST_CASE(cancel_then_destroying_the_timer_before_the_loop_runs_is_safe) {
  asio::io_context ioc;
  auto timer = std::make_unique<asio::steady_timer>(ioc, 1h);
  auto f = timer->async_wait(futura::use_future);
  BOOST_TEST(f.cancel());
  timer.reset();  // ASan would see a cancellation emitted into the destroyed timer
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(f.cancelled());
}

BOOST_AUTO_TEST_CASE(destroying_the_timer_then_cancelling_before_the_loop_runs_is_safe) {
  asio::io_context ioc;
  auto timer = std::make_unique<asio::steady_timer>(ioc, 1h);
  auto f = timer->async_wait(futura::use_future);
  timer.reset();  // the operation is aborted; its completion is queued
  (void)f.cancel();
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(f.cancelled());
}

BOOST_AUTO_TEST_CASE(cancel_then_destroying_the_timer_on_its_loop_is_safe) {
  asio::io_context ioc;
  auto timer = std::make_unique<asio::steady_timer>(ioc, 1h);
  auto f = timer->async_wait(futura::use_future);
  asio::post(ioc, [&] {
    BOOST_TEST(f.cancel());  // on the timer's own thread: emitted at once, like timer.cancel()
    timer.reset();
  });
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(f.cancelled());
}

BOOST_AUTO_TEST_CASE(an_operation_that_names_its_io_object_only_in_its_arguments_is_cancellable) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1h);
  // Beast's initiations look like this: no executor of their own, the stream by pointer.
  auto f = asio::async_initiate<futura::use_future_t const&, void(error_code)>(
      [](auto h, asio::steady_timer* t) { t->async_wait(std::move(h)); }, futura::use_future,
      &timer);
  BOOST_TEST(f.cancel());
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(f.cancelled());
}

BOOST_AUTO_TEST_CASE(wait_for_on_a_parallel_group_ends_at_its_deadline) {
  asio::io_context ioc;
  asio::steady_timer a(ioc, 1h), b(ioc, 1h);
  // No executor in its initiation, none among its arguments: the coroutine that awaits it
  // lends its own, and cancelling emits there.
  auto group = asio::experimental::make_parallel_group(a.async_wait(asio::deferred),
                                                       b.async_wait(asio::deferred))
                   .async_wait(asio::experimental::wait_for_all(), futura::use_future);
  BOOST_TEST(!group.cancel());  // nobody awaits it yet: nowhere to emit safely
  auto outcome = futura::create_task(ioc, [group]() -> asio::awaitable<int> {
    auto [order, ea, eb] = co_await futura::wait_for(group, 10ms);
    co_return (ea == asio::error::operation_aborted) + (eb == asio::error::operation_aborted);
  });
  BOOST_TEST(runs_out_of_work(ioc));  // both hour-long timers stopped
  BOOST_TEST(outcome.result() == 2);  // a group reports its operations' errors as values
}

BOOST_AUTO_TEST_CASE(wait_for_on_a_deferred_chain_ends_at_its_deadline) {
  asio::io_context ioc;
  asio::steady_timer a(ioc, 1ms), b(ioc, 1h);
  auto chain = a.async_wait(
      asio::deferred([&](error_code) { return b.async_wait(asio::deferred); }))(futura::use_future);
  auto outcome = futura::create_task(ioc, [chain]() -> asio::awaitable<bool> {
    try {
      co_await futura::wait_for(chain, 50ms);
    } catch (futura::timeout_error const&) {
      co_return true;
    }
    co_return false;
  });
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(outcome.result());
  BOOST_TEST(chain.cancelled());
}

BOOST_AUTO_TEST_CASE(an_operation_cancelled_through_its_future_ends_cancelled_whatever_its_error) {
  asio::io_context ioc;
  test_support::capture_errors errors;
  {
    asio::experimental::channel<void(error_code, int)> ch(ioc);
    auto f = ch.async_receive(futura::use_future);
    BOOST_TEST(f.cancel());
    BOOST_TEST(runs_out_of_work(ioc));
    BOOST_TEST(f.cancelled());  // not "finished raised system_error: Channel cancelled"
  }
  BOOST_TEST(errors.reports().empty());
}

BOOST_AUTO_TEST_CASE(the_cancel_message_reaches_the_future_of_a_running_operation) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1h);
  auto f = timer.async_wait(futura::use_future);
  BOOST_TEST(f.cancel("enough waiting"));
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(what_of<futura::cancelled_error>(f) == "enough waiting");
}

BOOST_AUTO_TEST_CASE(the_packaged_form_on_an_io_context_is_loop_bound) {
  asio::io_context ioc;
  asio::steady_timer timer(ioc, 1h);
  auto f = timer.async_wait(futura::use_future([](error_code) { return 1; }));
  std::string what;
  asio::post(ioc, [&] {
    what = what_of<futura::invalid_state_error>([&] { (void)f.result(); });
    timer.cancel();
  });
  BOOST_TEST(runs_out_of_work(ioc));
  BOOST_TEST(what == "Result is not set.");
  BOOST_TEST(f.result() == 1);
}

// Issue 10: Asio's rule for a token's allocator: the operation's state comes from it.
namespace {
struct alloc_counts {
  std::size_t allocated = 0, freed = 0, bytes = 0;
};
template <class T>
struct counting_allocator {
  using value_type = T;
  alloc_counts* counts;
  explicit counting_allocator(alloc_counts* c) noexcept : counts(c) {}
  template <class U>
  counting_allocator(counting_allocator<U> const& o) noexcept : counts(o.counts) {}
  T* allocate(std::size_t n) {
    ++counts->allocated;
    counts->bytes += n * sizeof(T);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    ++counts->freed;
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(counting_allocator<U> const& o) const noexcept {
    return counts == o.counts;
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(an_operation_state_comes_from_the_tokens_allocator) {
  alloc_counts counts;
  asio::io_context ioc;
  {
    asio::steady_timer timer(ioc, 0ms);
    auto f = timer.async_wait(
        asio::bind_allocator(counting_allocator<void>(&counts), futura::use_future));
    static_assert(std::is_same_v<decltype(f), futura::future<void>>);
    BOOST_TEST(counts.allocated >= 1u);  // the state, at least
    BOOST_TEST(counts.bytes >= sizeof(futura::detail::state<void>));
    ioc.run();
    f.result();
    auto g = asio::post(
        ioc, asio::bind_allocator(counting_allocator<void>(&counts), futura::use_future));
    auto cancelled = asio::steady_timer(ioc, 1h).async_wait(
        asio::bind_allocator(counting_allocator<void>(&counts), futura::use_future));
    ioc.restart();
    ioc.run();
    g.result();
    BOOST_TEST(cancelled.cancelled());  // a temporary timer: destroyed, it aborted the wait
  }
  BOOST_TEST(counts.allocated >= 3u);
  BOOST_TEST(counts.freed == counts.allocated);  // every state freed with it
}

BOOST_AUTO_TEST_SUITE_END()
