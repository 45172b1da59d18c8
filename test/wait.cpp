#include <futura/wait.hpp>

#define BOOST_TEST_MODULE wait
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <futura/loop.hpp>
#include <futura/promise.hpp>
#include <futura/thread_pool_executor.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <latch>
#include <list>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using futura::return_when;

namespace {

template <class T>
bool contains(std::vector<futura::future<T>> const& v, futura::future<T> const& f) {
  return std::find(v.begin(), v.end(), f) != v.end();
}

futura::future<int> finished(int v) {
  auto f = futura::create_future<int>();
  f.set_result(v);
  return f;
}
futura::future<int> failed() {
  auto f = futura::create_future<int>();
  f.set_exception(std::make_exception_ptr(std::runtime_error("failed")));
  (void)f.exception();  // retrieved: no report when it dies
  return f;
}
futura::future<int> cancelled() {
  auto f = futura::create_future<int>();
  f.cancel();
  return f;
}

/// A node the test hangs on a future's done list, to see its neighbours and its runs.
struct probe final : futura::detail::node {
  probe() { complete = &run; }
  static void run(futura::detail::node* n, futura::detail::state_base* s) noexcept {
    auto* self = static_cast<probe*>(n);
    self->runs += s ? 1 : 100;
  }
  int runs = 0;
};

}  // namespace

// G.38
BOOST_AUTO_TEST_CASE(duplicates_merge_and_the_result_binds_to_two_names) {
  auto f = finished(1);
  auto [done, not_done] = futura::wait(std::vector{f, f});
  BOOST_TEST(done.size() == 1u);
  BOOST_TEST((done[0] == f));
  BOOST_TEST(not_done.empty());
}

// G.38, L.74
BOOST_AUTO_TEST_CASE(both_halves_keep_first_occurrence_order_over_any_input_range) {
  futura::promise<int> p, q;
  auto a = finished(1), b = p.get_future(), c = finished(3), d = q.get_future();
  std::list<futura::future<int>> in{b, a, d, c, a, b};
  auto r = futura::wait(in, return_when::first_completed);
  BOOST_TEST((r.done == std::vector{a, c}));
  BOOST_TEST((r.not_done == std::vector{b, d}));
  auto v = futura::wait(in | std::views::take(3), 0ms);  // a view, not a container
  BOOST_TEST((v.done == std::vector{a}));
  BOOST_TEST((v.not_done == std::vector{b, d}));
}

// G.39
BOOST_AUTO_TEST_CASE(first_completed_returns_at_once_with_every_future_already_done) {
  futura::promise<int> p;
  auto a = finished(1), b = finished(2), pending = p.get_future();
  auto [done, not_done] = futura::wait(std::vector{pending, a, b}, return_when::first_completed);
  BOOST_TEST((done == std::vector{a, b}));
  BOOST_TEST((not_done == std::vector{pending}));
}

// G.39
BOOST_AUTO_TEST_CASE(first_completed_returns_on_the_first_completion_from_another_thread) {
  for (int round = 0; round < 200; ++round) {
    futura::promise<int> p, q;
    auto fp = p.get_future(), fq = q.get_future();
    std::thread t([&] { p.set_result(1); });
    auto [done, not_done] = futura::wait(std::vector{fq, fp}, return_when::first_completed);
    t.join();
    BOOST_TEST((done == std::vector{fp}));
    BOOST_TEST((not_done == std::vector{fq}));
  }
}

// G.40, L.72
BOOST_AUTO_TEST_CASE(first_exception_returns_at_once_if_an_input_has_already_failed) {
  futura::promise<int> p;
  auto ok = finished(1), bad = failed(), pending = p.get_future();
  auto [done, not_done] = futura::wait(std::vector{ok, pending, bad}, return_when::first_exception);
  BOOST_TEST((done == std::vector{ok, bad}));
  BOOST_TEST((not_done == std::vector{pending}));
}

// G.40
BOOST_AUTO_TEST_CASE(first_exception_returns_when_a_future_fails_with_earlier_ones_in_done) {
  for (int round = 0; round < 100; ++round) {
    futura::promise<int> ok, bad, never;
    auto f_ok = ok.get_future(), f_bad = bad.get_future(), f_never = never.get_future();
    std::thread t([&] {
      ok.set_result(1);
      bad.set_exception(std::make_exception_ptr(std::runtime_error("x")));
    });
    auto r = futura::wait(std::vector{f_never, f_bad, f_ok}, return_when::first_exception);
    t.join();
    BOOST_TEST((r.done == std::vector{f_bad, f_ok}));
    BOOST_TEST((r.not_done == std::vector{f_never}));
    (void)f_bad.exception();
  }
}

// G.40, L.72
BOOST_AUTO_TEST_CASE(cancellation_is_not_an_exception_for_first_exception) {
  futura::promise<int> p;
  auto c = cancelled(), pending = p.get_future();
  auto const start = std::chrono::steady_clock::now();
  auto r = futura::wait(std::vector{c, pending}, return_when::first_exception, 50ms);
  BOOST_TEST((std::chrono::steady_clock::now() - start >= 50ms));  // waited the whole time
  BOOST_TEST((r.done == std::vector{c}));
  BOOST_TEST((r.not_done == std::vector{pending}));
}

// G.40
BOOST_AUTO_TEST_CASE(first_exception_without_failures_waits_for_all) {
  futura::promise<int> p, q;
  auto fp = p.get_future(), fq = q.get_future();
  std::thread t([&] {
    p.set_result(1);
    q.set_result(2);
  });
  auto r = futura::wait(std::vector{fp, fq}, return_when::first_exception);
  t.join();
  BOOST_TEST(r.done.size() == 2u);
  BOOST_TEST(r.not_done.empty());
}

// G.41, G.44 (not reproduced: a cancelled future is done)
BOOST_AUTO_TEST_CASE(all_completed_is_the_default_and_counts_failed_and_cancelled_as_done) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  std::latch go{1};
  auto slow = pool.submit([&] {
    go.wait();
    return 4;
  });
  auto ok = finished(1), bad = failed(), c = cancelled();
  std::thread t([&] { go.count_down(); });
  auto [done, not_done] = futura::wait(std::vector{ok, bad, c, slow});
  t.join();
  BOOST_TEST((done == std::vector{ok, bad, c, slow}));
  BOOST_TEST(not_done.empty());
  BOOST_TEST(slow.result() == 4);
}

// G.42, L.71
BOOST_AUTO_TEST_CASE(a_timeout_returns_without_throwing_or_cancelling) {
  futura::promise<int> p;
  auto pending = p.get_future(), ok = finished(1);
  auto const start = std::chrono::steady_clock::now();
  auto [done, not_done] = futura::wait(std::vector{ok, pending}, 50ms);
  BOOST_TEST((std::chrono::steady_clock::now() - start >= 50ms));
  BOOST_TEST((done == std::vector{ok}));
  BOOST_TEST((not_done == std::vector{pending}));
  BOOST_TEST(!pending.done());  // not cancelled
  p.set_result(2);
  BOOST_TEST(pending.result() == 2);
}

// G.42: a zero or negative timeout just looks
BOOST_AUTO_TEST_CASE(zero_and_negative_timeouts_just_look) {
  futura::promise<int> p;
  auto pending = p.get_future();
  for (auto t : {0ms, -5ms}) {
    auto r = futura::wait(std::vector{pending, finished(1)}, return_when::all_completed, t);
    BOOST_TEST(r.done.size() == 1u);
    BOOST_TEST((r.not_done == std::vector{pending}));
  }
}

// G.43, L.73 (futura follows cf: an empty input is no error)
BOOST_AUTO_TEST_CASE(an_empty_input_returns_at_once) {
  std::vector<futura::future<int>> none;
  auto [done, not_done] = futura::wait(none);
  BOOST_TEST(done.empty());
  BOOST_TEST(not_done.empty());
}

// G.43
BOOST_AUTO_TEST_CASE(a_bad_return_when_is_refused_only_when_something_is_pending) {
  auto const bad = static_cast<return_when>(42);
  BOOST_CHECK_NO_THROW(futura::wait(std::vector{finished(1)}, bad));
  futura::promise<int> p;
  BOOST_CHECK_EXCEPTION(
      futura::wait(std::vector{p.get_future()}, bad), std::invalid_argument,
      [](auto const& e) { return std::string(e.what()) == "Invalid return condition: 42"; });
}

BOOST_AUTO_TEST_CASE(an_empty_handle_is_refused) {
  std::vector<futura::future<int>> fs{finished(1), {}};
  BOOST_CHECK_THROW(futura::wait(fs), futura::invalid_state_error);
}

// G.45
BOOST_AUTO_TEST_CASE(a_hundred_futures_finishing_together_do_not_deadlock_wait) {
  constexpr int n = 100, threads = 4;
  for (int round = 0; round < 30; ++round) {
    std::vector<futura::promise<int>> ps(n);
    std::vector<futura::future<int>> fs;
    for (auto& p : ps) fs.push_back(p.get_future());
    std::latch go{threads};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        go.arrive_and_wait();
        for (int i = t; i < n; i += threads) ps[static_cast<std::size_t>(i)].set_result(i);
      });
    auto [done, not_done] = futura::wait(fs);
    for (auto& t : ts) t.join();
    BOOST_TEST(done.size() == static_cast<std::size_t>(n));
    BOOST_TEST(not_done.empty());
  }
}

BOOST_AUTO_TEST_CASE(waiting_again_and_again_on_one_pending_future_leaves_nothing_behind) {
  futura::promise<int> p;
  auto f = p.get_future();
  auto* s = futura::detail::state_of(f);
  probe before, after;
  s->add_node(&before);
  std::vector<futura::future<int>> one{f};
  for (int i = 0; i < 10000; ++i) {
    auto r = futura::wait(one, return_when::first_completed, 0ms);
    BOOST_TEST_REQUIRE(r.not_done.size() == 1u);
  }
  for (int i = 0; i < 20; ++i) (void)futura::wait(one, 1ms);  // these really sleep
  s->add_node(&after);
  // Nothing is left between the two probes: every waiter node was unhooked.
  BOOST_TEST((after.prev == &before));
  BOOST_TEST((before.next == &after));
  p.set_result(1);
  BOOST_TEST(before.runs == 1);
  BOOST_TEST(after.runs == 1);
}

BOOST_AUTO_TEST_CASE(a_future_completing_while_wait_gives_up_is_handled_once) {
  // Timeouts racing with completions: the waiter must wait for a node that is already
  // running before its memory goes (ASan/TSan check this).
  for (int round = 0; round < 300; ++round) {
    futura::promise<int> p;
    auto f = p.get_future();
    std::thread t([&] { p.set_result(1); });
    auto r = futura::wait(std::vector{f}, 0ms);
    t.join();
    BOOST_TEST(r.done.size() + r.not_done.size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(wait_on_the_thread_running_the_loop_of_its_futures_is_refused) {
  boost::asio::io_context io;
  auto f = futura::create_future<int>(io);
  bool refused = false;
  boost::asio::post(io, [&] {
    try {
      (void)futura::wait(std::vector{f});
    } catch (futura::invalid_state_error const&) {
      refused = true;
    }
    // Just looking is fine: it cannot block.
    auto r = futura::wait(std::vector{f}, 0ms);
    BOOST_TEST(r.not_done.size() == 1u);
  });
  io.run();
  BOOST_TEST(refused);
  // From another thread it simply waits.
  std::thread t([&] { f.set_result(3); });
  auto r = futura::wait(std::vector{f});
  t.join();
  BOOST_TEST(r.done.size() == 1u);
}

// The async form: async_wait_some, for coroutines and callbacks.

using test_support::run_coroutine;

// G.39, L.72
BOOST_AUTO_TEST_CASE(a_coroutine_waits_for_the_first_completion_without_blocking_the_loop) {
  boost::asio::io_context io;
  futura::promise<int> p, q;
  auto fp = p.get_future(), fq = q.get_future();
  futura::wait_result<int> got;
  boost::asio::post(io, [&] {
    BOOST_TEST(got.done.empty());  // the coroutine is suspended, the loop runs
    q.set_result(2);
  });
  std::vector const in{fp, fq, fp};  // (GCC 12 rejects a braced list inside co_await)
  auto e = run_coroutine(io, [&]() -> boost::asio::awaitable<void> {
    got = co_await futura::async_wait_some(in, return_when::first_completed,
                                           boost::asio::use_awaitable);
  });
  BOOST_TEST(!e);
  BOOST_TEST((got.done == std::vector{fq}));
  BOOST_TEST((got.not_done == std::vector{fp}));
  // The waiter let go of p's future: nothing of it is left on p's done list.
  probe only;
  futura::detail::state_of(fp)->add_node(&only);
  BOOST_TEST(!only.prev);
  p.set_result(1);
  BOOST_TEST(only.runs == 1);
}

// G.40, L.72
BOOST_AUTO_TEST_CASE(a_coroutine_wait_for_the_first_exception_counts_what_already_failed) {
  boost::asio::io_context io;
  futura::promise<int> p;
  auto bad = failed(), pending = p.get_future();
  futura::wait_result<int> got;
  std::vector const in{pending, bad};
  auto e = run_coroutine(io, [&]() -> boost::asio::awaitable<void> {
    got = co_await futura::async_wait_some(in, return_when::first_exception,
                                           boost::asio::use_awaitable);
  });
  BOOST_TEST(!e);
  BOOST_TEST((got.done == std::vector{bad}));
  BOOST_TEST((got.not_done == std::vector{pending}));
}

// G.42, L.71
BOOST_AUTO_TEST_CASE(an_async_wait_times_out_without_cancelling_and_stops_its_timer_early) {
  boost::asio::io_context io;
  futura::promise<int> p;
  auto pending = p.get_future(), ok = finished(1);
  futura::wait_result<int> got;
  auto const start = std::chrono::steady_clock::now();
  std::vector const in{ok, pending};
  auto e = run_coroutine(io, [&]() -> boost::asio::awaitable<void> {
    got = co_await futura::async_wait_some(in, return_when::all_completed, 50ms,
                                           boost::asio::use_awaitable);
  });
  BOOST_TEST(!e);
  BOOST_TEST((std::chrono::steady_clock::now() - start >= 50ms));
  BOOST_TEST((got.done == std::vector{ok}));
  BOOST_TEST((got.not_done == std::vector{pending}));
  BOOST_TEST(!pending.done());

  // Met before the deadline: run() returns without waiting for the (cancelled) timer.
  io.restart();
  boost::asio::post(io, [&] { p.set_result(2); });
  auto const again = std::chrono::steady_clock::now();
  std::vector const one{pending};
  e = run_coroutine(io, [&]() -> boost::asio::awaitable<void> {
    got = co_await futura::async_wait_some(one, return_when::all_completed, std::chrono::hours(1),
                                           boost::asio::use_awaitable);
  });
  BOOST_TEST(!e);
  BOOST_TEST((std::chrono::steady_clock::now() - again < std::chrono::minutes(1)));
  BOOST_TEST((got.done == std::vector{pending}));
}

// L.71, L.74
BOOST_AUTO_TEST_CASE(a_plain_callback_receives_the_split_of_pool_futures) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  std::latch go{1};
  auto a = pool.submit([&] { return go.wait(), 1; });
  auto b = pool.submit([&] { return go.wait(), 2; });
  std::promise<futura::wait_result<int>> delivered;
  futura::async_wait_some(std::vector{a, b}, return_when::all_completed,
                          [&](std::exception_ptr e, futura::wait_result<int> r) {
                            BOOST_TEST(!e);
                            delivered.set_value(std::move(r));
                          });
  go.count_down();
  auto r = delivered.get_future().get();
  BOOST_TEST((r.done == std::vector{a, b}));
  BOOST_TEST(r.not_done.empty());
}

// Issue 8: the internal callback that stops the deadline timer is bound to the handler's
// io_context; once that io_context is gone, a watched future completing later posts
// nowhere (ASan would see it) and every handler of the wait is released.
BOOST_AUTO_TEST_CASE(async_wait_some_with_a_timeout_outlived_by_its_futures_is_safe) {
  futura::promise<int> p;
  auto const token = std::make_shared<int>(0);
  {
    boost::asio::io_context ioc;
    futura::async_wait_some(
        std::vector{p.get_future()}, return_when::first_completed, std::chrono::hours(1),
        boost::asio::bind_executor(ioc, [token](std::exception_ptr, futura::wait_result<int>) {}));
    BOOST_TEST(token.use_count() == 2);
  }
  BOOST_TEST(token.use_count() == 1);
  p.set_result(1);
}

// Issue 10: futures of different result types in one wait, as Python's wait takes them.
BOOST_AUTO_TEST_CASE(wait_takes_futures_of_different_types_through_the_erased_future) {
  futura::promise<std::string> name;
  auto count = finished(3);
  auto name_f = name.get_future();
  futura::promise<void> tick;
  std::vector<futura::future<>> all{count, name_f, tick.get_future(), count};
  auto [done, not_done] = futura::wait(all, return_when::first_completed);
  BOOST_TEST(done.size() == 1u);  // the repeated one counts once
  BOOST_TEST((done[0] == count));
  BOOST_TEST(not_done.size() == 2u);
  BOOST_TEST((not_done[0] == name_f));

  std::thread producer([&] {
    name.set_result("x");
    tick.set_exception(std::make_exception_ptr(std::runtime_error("late")));
  });
  auto r = futura::wait(all, return_when::first_exception, 60s);
  producer.join();
  BOOST_TEST(r.not_done.empty());
  BOOST_TEST(r.done.size() == 3u);
  BOOST_TEST(static_cast<bool>(r.done[2].exception()));
}

BOOST_AUTO_TEST_CASE(wait_lists_futures_of_any_types_as_arguments) {
  auto count = finished(1);
  auto text = futura::create_future<std::string>();
  auto r =
      futura::wait(std::vector<futura::future<>>{count, text}, return_when::first_completed, 0ms);
  BOOST_TEST(r.done.size() == 1u);
  BOOST_TEST((r.done[0] == count));
  BOOST_TEST((r.not_done[0] == text));
  text.set_result("y");
  auto all = futura::wait(count, text);
  BOOST_TEST(all.done.size() == 2u);
  BOOST_TEST(all.done[1].as<std::string>().result() == "y");
}

BOOST_AUTO_TEST_CASE(async_wait_some_takes_erased_futures_and_completes_on_the_loop) {
  boost::asio::io_context ioc;
  futura::promise<std::string> later;
  auto early = finished(7);
  std::vector<futura::future<>> all{later.get_future(), early};
  std::size_t done_count = 0, not_done_count = 0;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        auto split =
            futura::async_wait_some(all, return_when::all_completed, boost::asio::use_awaitable);
        boost::asio::post(ioc, [&] { later.set_result("z"); });
        auto r = co_await std::move(split);
        done_count = r.done.size();
        not_done_count = r.not_done.size();
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.run();
  BOOST_TEST(done_count == 2u);
  BOOST_TEST(not_done_count == 0u);
}
