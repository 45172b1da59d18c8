#include <futura/as_completed.hpp>

#define BOOST_TEST_MODULE as_completed
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <futura/promise.hpp>
#include <futura/thread_pool_executor.hpp>
#include <futura/wait.hpp>

#include <futura/loop.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <list>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

futura::future<int> finished(int v) {
  auto f = futura::create_future<int>();
  f.set_result(v);
  return f;
}

std::atomic<int> g_live{0};
struct counted {
  explicit counted(int) { ++g_live; }
  counted(counted const&) { ++g_live; }
  ~counted() { --g_live; }
};

struct probe final : futura::detail::node {
  probe() { complete = &run; }
  static void run(futura::detail::node* n, futura::detail::state_base* s) noexcept {
    static_cast<probe*>(n)->runs += s ? 1 : 100;
  }
  int runs = 0;
};

}  // namespace

static_assert(std::ranges::input_range<futura::as_completed_range<int>>);

// H.46
BOOST_AUTO_TEST_CASE(already_done_futures_come_first_in_input_order_then_completion_order) {
  futura::promise<int> a, c;
  auto fa = a.get_future(), fb = finished(2), fc = c.get_future(), fd = finished(4);
  auto r = futura::as_completed(std::vector{fa, fb, fc, fd});
  BOOST_TEST(r.size() == 4u);
  auto it = r.begin();
  BOOST_TEST((*it == fb));
  ++it;
  BOOST_TEST((*it == fd));
  ++it;
  c.set_result(3);  // c before a
  BOOST_TEST((*it == fc));
  ++it;
  BOOST_TEST(!(it == r.end()));
  a.set_result(1);
  BOOST_TEST((*it == fa));
  ++it;
  BOOST_TEST((it == r.end()));
}

// H.46
BOOST_AUTO_TEST_CASE(a_loop_yields_futures_as_another_thread_completes_them) {
  for (int round = 0; round < 50; ++round) {
    constexpr int n = 20;
    std::vector<futura::promise<int>> ps(n);
    std::vector<futura::future<int>> fs;
    for (auto& p : ps) fs.push_back(p.get_future());
    auto r = futura::as_completed(fs);
    // Completed back to front by one thread: that is the completion order.
    std::thread t([&] {
      for (int i = n - 1; i >= 0; --i) ps[static_cast<std::size_t>(i)].set_result(i);
    });
    int expected = n - 1;
    for (auto const& f : r) {
      BOOST_TEST(f.done());
      BOOST_TEST(f.result() == expected--);
    }
    t.join();
    BOOST_TEST(expected == -1);
  }
}

// H.47
BOOST_AUTO_TEST_CASE(a_repeated_future_is_yielded_once_from_any_input_range) {
  auto f = finished(1);
  int count = 0;
  for (auto const& g : futura::as_completed(std::list{f, f, f})) {
    BOOST_TEST((g == f));
    ++count;
  }
  BOOST_TEST(count == 1);
  std::vector fs{f, finished(2)};
  count = 0;
  for (auto const& g : futura::as_completed(fs | std::views::reverse)) count += g.result();
  BOOST_TEST(count == 3);
}

// H.48
BOOST_AUTO_TEST_CASE(a_timeout_yields_what_is_done_then_says_how_many_are_unfinished) {
  futura::promise<int> p, q;
  auto done1 = finished(1), done2 = finished(2), pp = p.get_future(), qq = q.get_future();
  auto r = futura::as_completed(std::vector{pp, done1, qq, done2, pp}, 0ms);
  std::vector<futura::future<int>> got;
  try {
    for (auto const& f : r) got.push_back(f);
    BOOST_FAIL("no timeout");
  } catch (futura::timeout_error const& e) {
    BOOST_TEST(std::string(e.what()) == "2 (of 4) futures unfinished");  // distinct futures
  }
  BOOST_TEST((got == std::vector{done1, done2}));
  // Nothing was cancelled (N.80), and a future done since then is still yielded.
  BOOST_TEST(!pp.done());
  q.set_result(5);
  auto it = r.begin();
  BOOST_TEST((*it == qq));
  ++it;
  BOOST_CHECK_EXCEPTION(*it, futura::timeout_error, [](auto const& e) {
    return std::string(e.what()) == "1 (of 4) futures unfinished";
  });
  p.set_result(6);
}

// H.48, H.49 (the clock starts at the call, as Python documents)
BOOST_AUTO_TEST_CASE(the_deadline_is_counted_from_the_call) {
  futura::promise<int> p, unrelated;
  auto r = futura::as_completed(std::vector{p.get_future()}, 50ms);
  BOOST_TEST(!unrelated.get_future().wait_for(60ms));  // the whole timeout passes here
  auto const start = std::chrono::steady_clock::now();
  BOOST_CHECK_THROW(*r.begin(), futura::timeout_error);
  // Counted from the first * instead, this would have taken 50 ms more.
  BOOST_TEST((std::chrono::steady_clock::now() - start < 50ms));
  p.set_result(1);
}

// H.48: ++ without * also waits for (and consumes) one
BOOST_AUTO_TEST_CASE(skipping_with_increment_consumes_one_and_times_out_the_same_way) {
  futura::promise<int> p;
  auto r = futura::as_completed(std::vector{finished(1), p.get_future()}, 0ms);
  auto it = r.begin();
  ++it;
  BOOST_CHECK_THROW(++it, futura::timeout_error);
  p.set_result(2);
  BOOST_TEST((*it).result() == 2);
  ++it;
  BOOST_TEST((it == r.end()));
}

// H.49
BOOST_AUTO_TEST_CASE(the_range_keeps_no_reference_to_futures_it_has_yielded) {
  g_live = 0;
  futura::promise<counted> p;
  auto r = futura::as_completed(std::vector{p.get_future()});
  p.set_result(counted(1));
  p = {};  // the producer lets go too
  BOOST_TEST(g_live == 1);
  auto it = r.begin();
  {
    futura::future<counted> f = *it;
    ++it;
  }  // our copy was the last reference: the state and its value are gone
  BOOST_TEST(g_live == 0);
  BOOST_TEST((it == r.end()));
}

// N.79
BOOST_AUTO_TEST_CASE(an_empty_input_is_an_empty_range) {
  std::vector<futura::future<int>> none;
  auto r = futura::as_completed(none);
  BOOST_TEST((r.begin() == r.end()));
  BOOST_TEST(r.size() == 0u);
}

BOOST_AUTO_TEST_CASE(cancelled_and_failed_futures_are_yielded_like_any_other) {
  futura::promise<int> p, q;
  auto fp = p.get_future(), fq = q.get_future();
  auto r = futura::as_completed(std::vector{fp, fq});
  auto it = r.begin();
  fq.cancel();
  BOOST_TEST((*it == fq));
  ++it;
  p.set_exception(std::make_exception_ptr(std::runtime_error("x")));
  BOOST_CHECK_THROW((*it).result(), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(destroying_the_range_half_way_unhooks_it_from_every_future) {
  futura::promise<int> p, q, s;
  auto fp = p.get_future(), fq = q.get_future();
  probe before, after;
  futura::detail::state_of(fq)->add_node(&before);
  {
    auto r = futura::as_completed(std::vector{fp, fq, s.get_future()});
    p.set_result(1);
    auto it = r.begin();
    BOOST_TEST((*it == fp));
    ++it;
  }  // q and s still pending
  futura::detail::state_of(fq)->add_node(&after);
  BOOST_TEST((after.prev == &before));  // nothing of the range is left on q
  q.set_result(2);
  s.set_result(3);
  BOOST_TEST(before.runs == 1);
  BOOST_TEST(after.runs == 1);
}

BOOST_AUTO_TEST_CASE(destroying_the_range_while_futures_complete_on_other_threads_is_safe) {
  constexpr int n = 16;
  for (int round = 0; round < 100; ++round) {
    std::vector<futura::promise<int>> ps(n);
    std::vector<futura::future<int>> fs;
    for (auto& p : ps) fs.push_back(p.get_future());
    std::latch go{1};
    auto complete_half = [&](int from) {
      go.wait();
      for (int i = from; i < n; i += 2) ps[static_cast<std::size_t>(i)].set_result(i);
    };
    std::thread t1(complete_half, 0), t2(complete_half, 1);
    {
      auto r = futura::as_completed(fs);
      go.count_down();
      BOOST_TEST((*r.begin()).done());  // take one, then drop the rest mid-flight
    }
    t1.join();
    t2.join();
  }
}

BOOST_AUTO_TEST_CASE(an_empty_handle_is_refused) {
  std::vector<futura::future<int>> fs{finished(1), {}};
  BOOST_CHECK_THROW(futura::as_completed(fs), futura::invalid_state_error);
}

// One pass takes, snapshots and watches each future (issue 9), so an empty handle is found
// after earlier ones are watched. The range's handles to them go; its watch nodes must go
// first, not be left on the futures (ASan: a node in freed memory).
BOOST_AUTO_TEST_CASE(an_empty_handle_after_pending_ones_leaves_no_watch_on_them) {
  futura::promise<int> p;
  probe mine;
  futura::detail::state_of(p.get_future())->add_node(&mine);
  std::vector<futura::future<int>> fs{p.get_future(), finished(1), {}};
  BOOST_CHECK_THROW(futura::as_completed(std::move(fs)), futura::invalid_state_error);
  BOOST_TEST(futura::detail::state_of(p.get_future())->only_node_is(&mine));
  p.set_result(2);
  BOOST_TEST(mine.runs == 1);
}

// Issue 9: a std::vector passed as an rvalue gives its futures up (moved in: no
// reference count touched); a view over the caller's futures, even a temporary one, does
// not: those are the caller's.
BOOST_AUTO_TEST_CASE(an_rvalue_container_gives_up_its_futures_and_a_view_does_not) {
  std::vector<futura::future<int>> mine{finished(1), finished(2)};
  int sum = 0;
  for (auto const& f : futura::as_completed(std::span(mine))) sum += f.result();
  BOOST_TEST(sum == 3);
  BOOST_TEST((mine[0].valid() && mine[1].valid()));
  auto first = mine[0];
  for (auto const& f : futura::as_completed(std::move(mine))) sum += f.result();
  BOOST_TEST(sum == 6);
  BOOST_TEST((!mine[0].valid() && !mine[1].valid()));  // NOLINT(bugprone-use-after-move)
  BOOST_TEST(first.result() == 1);
}

// Review of issue 9: a range that makes its futures as it is read (a transform view) is
// read once per element, and each future it makes is the one kept. Reading an element twice
// made two futures, checked the first for repeats, kept the second, and the first's freed
// address, reused by a later future, made that one a "repeat".
BOOST_AUTO_TEST_CASE(a_range_that_makes_its_futures_is_read_once_per_element) {
  int made = 0;
  auto const make = [&made](int i) {
    ++made;
    return finished(i);
  };
  int count = 0;
  for (auto const& f :
       futura::as_completed(std::views::iota(0, 1000) | std::views::transform(make)))
    count += f.done();
  BOOST_TEST(count == 1000);
  BOOST_TEST(made == 1000);
  made = 0;
  auto const split = futura::wait(std::views::iota(0, 1000) | std::views::transform(make));
  BOOST_TEST(split.done.size() == 1000u);
  BOOST_TEST(made == 1000);
}

// Review of issue 9: only futura's own vector, or a std::vector given up as an rvalue, is
// emptied. A range over the caller's futures that is not marked a view is not.
struct borrowed_futures {
  futura::future<int>* first;
  futura::future<int>* last;
  futura::future<int>* begin() const { return first; }
  futura::future<int>* end() const { return last; }
};

BOOST_AUTO_TEST_CASE(a_borrowed_range_that_is_no_view_keeps_its_futures) {
  std::vector<futura::future<int>> mine{finished(1), finished(2)};
  int sum = 0;
  for (auto const& f : futura::as_completed(borrowed_futures{mine.data(), mine.data() + 2}))
    sum += f.result();
  BOOST_TEST(sum == 3);
  BOOST_TEST((mine[0].valid() && mine[1].valid()));
  auto const split = futura::wait(borrowed_futures{mine.data(), mine.data() + 2});
  BOOST_TEST(split.done.size() == 2u);
  BOOST_TEST((mine[0].valid() && mine[1].valid()));
}

// H.46: each future once, even across loops that break early
BOOST_AUTO_TEST_CASE(the_range_can_be_moved_and_iterated_in_several_loops) {
  futura::promise<int> p;
  auto r = futura::as_completed(std::vector{finished(1), p.get_future(), finished(3)});
  auto moved = std::move(r);
  int sum = 0;
  for (auto const& f : moved) {
    sum += f.result();
    break;
  }
  p.set_result(2);
  for (auto const& f : moved) sum += f.result();
  BOOST_TEST(sum == 6);
}

// The async form: async_next, for coroutines.

using test_support::run_coroutine;

// H.46, N.79
BOOST_AUTO_TEST_CASE(a_coroutine_takes_futures_as_they_complete_then_an_empty_optional) {
  boost::asio::io_context io;
  futura::promise<int> a, b;
  auto fa = a.get_future(), fb = b.get_future(), fc = finished(3);
  std::vector<int> order;
  std::vector const in{fa, fb, fc, fa};  // (GCC 12 rejects a braced list in a coroutine)
  auto e = run_coroutine(io, [&]() -> boost::asio::awaitable<void> {
    auto r = futura::as_completed(in);
    // Completed from the loop while the coroutine is suspended: b, then a.
    boost::asio::post(io, [&] { b.set_result(2); });
    while (auto f = co_await r.async_next(boost::asio::use_awaitable)) {
      order.push_back(f->result());
      if (order.size() == 2) boost::asio::post(io, [&] { a.set_result(1); });
    }
  });
  BOOST_TEST(!e);
  BOOST_TEST((order == std::vector{3, 2, 1}));
}

// H.46
BOOST_AUTO_TEST_CASE(a_coroutine_takes_pool_futures_completed_on_other_threads) {
  boost::asio::io_context io;
  futura::thread_pool_executor pool{{.max_workers = 2}};
  std::vector<futura::future<int>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(pool.submit([](int x) { return x; }, i));
  int sum = 0, count = 0;
  auto e = run_coroutine(io, [&]() -> boost::asio::awaitable<void> {
    auto r = futura::as_completed(fs);
    while (auto f = co_await r.async_next(boost::asio::use_awaitable)) {
      BOOST_TEST(f->done());
      sum += f->result();
      ++count;
    }
  });
  BOOST_TEST(!e);
  BOOST_TEST(count == 20);
  BOOST_TEST(sum == 190);
}

// H.48, N.80
BOOST_AUTO_TEST_CASE(async_next_times_out_at_the_deadline_without_cancelling) {
  boost::asio::io_context io;
  futura::promise<int> p;
  auto pending = p.get_future(), done = finished(1);
  std::vector<futura::future<int>> got;
  auto const start = std::chrono::steady_clock::now();
  std::vector const in{done, pending};
  auto e = run_coroutine(io, [&]() -> boost::asio::awaitable<void> {
    auto r = futura::as_completed(in, 50ms);
    for (;;) got.push_back(*co_await r.async_next(boost::asio::use_awaitable));
  });
  BOOST_TEST((std::chrono::steady_clock::now() - start >= 50ms));
  BOOST_CHECK_EXCEPTION(std::rethrow_exception(e), futura::timeout_error, [](auto const& x) {
    return std::string(x.what()) == "1 (of 2) futures unfinished";
  });
  BOOST_TEST((got == std::vector{done}));
  BOOST_TEST(!pending.done());
  p.set_result(2);
}

// H.48: the timer is stopped once a future arrives, so the loop does not linger
BOOST_AUTO_TEST_CASE(async_next_with_a_far_deadline_returns_as_soon_as_a_future_completes) {
  boost::asio::io_context io;
  futura::promise<int> p;
  auto fp = p.get_future();
  int got = 0;
  boost::asio::post(io, [&] { p.set_result(7); });
  auto const start = std::chrono::steady_clock::now();
  std::vector const in{fp};
  auto e = run_coroutine(io, [&]() -> boost::asio::awaitable<void> {
    auto r = futura::as_completed(in, std::chrono::hours(1));
    got = (co_await r.async_next(boost::asio::use_awaitable))->result();
  });
  BOOST_TEST(!e);
  BOOST_TEST(got == 7);
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::minutes(1)));
}

// Issue 8: lifetimes and cancellation of the range and of async_next.
BOOST_AUTO_TEST_SUITE(hardening)

BOOST_AUTO_TEST_CASE(a_range_destroyed_by_a_callback_of_its_own_future_returns_at_once) {
  futura::promise<int> p;
  auto f = p.get_future();
  std::optional<futura::as_completed_range<int>> r;
  f.add_done_callback([&] { r.reset(); });  // registered before the range watches f
  r.emplace(futura::as_completed(std::vector{f}));
  p.set_result(1);  // the range's watcher runs first, so destroying it does not wait on it
  BOOST_TEST(!r.has_value());
}

BOOST_AUTO_TEST_CASE(a_range_destroyed_with_an_async_next_queued_completes_it_cancelled) {
  boost::asio::io_context ioc;
  futura::promise<int> p;
  auto r = std::make_unique<futura::as_completed_range<int>>(
      futura::as_completed(std::vector{p.get_future()}));
  int calls = 0;
  std::exception_ptr got;
  r->async_next(boost::asio::bind_executor(
      ioc, [&](std::exception_ptr e, std::optional<futura::future<int>>) { ++calls, got = e; }));
  p.set_result(1);  // the continuation is queued on ioc
  r.reset();        // and the range is gone before it runs (ASan would see it touched)
  ioc.run();
  BOOST_TEST(calls == 1);
  BOOST_CHECK_THROW(std::rethrow_exception(got), futura::cancelled_error);
}

BOOST_AUTO_TEST_CASE(async_next_honours_its_cancellation_slot) {
  boost::asio::io_context ioc;
  futura::promise<int> never;
  auto r = futura::as_completed(std::vector{never.get_future()});
  bool timer_won = false;
  futura::future<void> done = futura::create_task(ioc, [&]() -> boost::asio::awaitable<void> {
    using namespace boost::asio::experimental::awaitable_operators;
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, 1ms);
    auto which = co_await (r.async_next(boost::asio::use_awaitable) ||
                           t.async_wait(boost::asio::use_awaitable));
    timer_won = which.index() == 1;
  });
  ioc.run_for(10s);
  BOOST_TEST(done.done());
  BOOST_TEST(timer_won);
  never.set_result(2);  // the range still works after a cancelled async_next
  std::optional<futura::future<int>> next;
  r.async_next(boost::asio::bind_executor(
      ioc, [&](std::exception_ptr, std::optional<futura::future<int>> f) { next = f; }));
  ioc.restart();
  ioc.run_for(10s);
  BOOST_TEST((next && next->result() == 2));
}

BOOST_AUTO_TEST_CASE(blocking_iteration_on_the_thread_of_the_futures_loop_throws) {
  boost::asio::io_context ioc;
  auto pending = futura::create_future<int>(ioc);
  std::string what;
  boost::asio::post(ioc, [&] {
    auto r = futura::as_completed(std::vector{pending});
    what = test_support::what_of<futura::invalid_state_error>([&] { (void)*r.begin(); });
  });
  ioc.run();
  BOOST_TEST(what.find("loop") != std::string::npos, what);
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 10: futures of different result types in one as_completed, as in Python.
BOOST_AUTO_TEST_CASE(as_completed_yields_erased_futures_of_different_types) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  std::latch go(1);
  auto number = pool.submit([&] {
    go.wait();
    return 6 * 7;
  });
  auto word = futura::create_future<std::string>();
  word.set_result("ready");
  std::vector<std::string> seen;
  bool first = true;
  for (futura::future<> const& f : futura::as_completed(number, word)) {
    if (first) go.count_down(), first = false;  // `word` was done at the call: it comes first
    if (f == word) seen.push_back(word.result());
    if (f == number) seen.push_back(std::to_string(f.as<int>().result()));
  }
  BOOST_TEST((seen == std::vector<std::string>{"ready", "42"}));
}

BOOST_AUTO_TEST_CASE(async_next_yields_erased_futures_on_the_loop) {
  boost::asio::io_context ioc;
  futura::promise<double> ratio;
  auto flag = futura::create_future<bool>();
  std::vector<futura::future<>> all{ratio.get_future(), flag};
  std::vector<std::string> order;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        auto r = futura::as_completed(all);
        boost::asio::post(ioc, [&] { flag.set_result(true); });
        while (auto f = co_await r.async_next(boost::asio::use_awaitable)) {
          order.push_back(f->holds<bool>() ? "bool" : "double");
          if (f->holds<bool>()) boost::asio::post(ioc, [&] { ratio.set_result(0.5); });
        }
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.run();
  BOOST_TEST((order == std::vector<std::string>{"bool", "double"}));
}
