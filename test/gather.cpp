#include <futura/gather.hpp>

#define BOOST_TEST_MODULE gather
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <futura/loop.hpp>
#include <futura/promise.hpp>
#include <futura/submit.hpp>
#include <futura/thread_pool_executor.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <latch>
#include <list>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include <futura/detail/large_block.hpp>

namespace {

// Reports of "exception was never retrieved" and throwing callbacks.
std::atomic<int> g_reports{0};
void count_report(std::exception_ptr, std::string_view) {
  ++g_reports;
}

struct report_counter {
  report_counter() : old(futura::set_callback_error_handler(&count_report)) { g_reports = 0; }
  ~report_counter() { futura::set_callback_error_handler(old); }
  futura::callback_error_handler old;
};

// Counts live instances: every value a gather copies must be destroyed with it.
std::atomic<int> g_live{0};
struct counted {
  int v = 0;
  explicit counted(int x) : v(x) { ++g_live; }
  counted(counted const& o) : v(o.v) { ++g_live; }
  ~counted() { --g_live; }
};

template <class T>
std::vector<futura::promise<T>> make_promises(std::size_t n) {
  std::vector<futura::promise<T>> ps(n);
  return ps;
}
template <class T>
std::vector<futura::future<T>> futures_of(std::vector<futura::promise<T>> const& ps) {
  std::vector<futura::future<T>> fs;
  for (auto& p : ps) fs.push_back(p.get_future());
  return fs;
}

}  // namespace

// K.64
BOOST_AUTO_TEST_CASE(results_come_in_argument_order_and_the_callback_runs_once) {
  futura::promise<int> a, b, c;
  auto g = futura::gather(a.get_future(), b.get_future(), c.get_future());
  static_assert(std::is_same_v<decltype(g), futura::future<std::tuple<int, int, int>>>);
  int calls = 0;
  g.add_done_callback([&] { ++calls; });
  b.set_result(2);
  BOOST_TEST(!g.done());
  a.set_result(1);
  BOOST_TEST(!g.done());
  c.set_result(3);
  BOOST_TEST(g.done());
  BOOST_TEST(calls == 1);
  BOOST_TEST((g.result() == std::tuple{1, 2, 3}));
}

// K.64
BOOST_AUTO_TEST_CASE(a_range_gather_keeps_range_order_whatever_the_completion_order) {
  constexpr std::size_t n = 50;
  auto ps = make_promises<int>(n);
  auto g = futura::gather(futures_of(ps));
  static_assert(std::is_same_v<decltype(g), futura::future<std::vector<int>>>);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  for (std::size_t k = 0; k < n; ++k) {
    BOOST_TEST(!g.done());
    ps[order[k]].set_result(static_cast<int>(order[k]) * 10);
  }
  BOOST_TEST(g.done());
  std::vector<int> expected(n);
  for (std::size_t i = 0; i < n; ++i) expected[i] = static_cast<int>(i) * 10;
  BOOST_TEST(g.result() == expected, boost::test_tools::per_element());
}

// K.65
BOOST_AUTO_TEST_CASE(gather_of_nothing_and_of_an_empty_range_are_finished_at_once) {
  auto none = futura::gather();
  BOOST_TEST(none.done());
  static_assert(std::is_same_v<decltype(none.result()), std::tuple<>&>);
  std::vector<futura::future<int>> empty;
  auto g = futura::gather(empty);
  BOOST_TEST(g.done());
  BOOST_TEST(g.result().empty());
  std::vector<futura::future<void>> empty_void;
  auto gv = futura::gather(empty_void);
  BOOST_TEST(gv.done());
  BOOST_CHECK_NO_THROW(gv.result());
  BOOST_TEST(futura::gather_settled(empty).result().empty());
}

// K.66
BOOST_AUTO_TEST_CASE(the_first_exception_completes_the_gather_and_the_others_keep_running) {
  report_counter reports;
  {
    futura::promise<int> a, b, c;
    auto fa = a.get_future(), fb = b.get_future(), fc = c.get_future();
    auto g = futura::gather(fa, fb, fc);
    a.set_result(1);
    auto const boom = std::make_exception_ptr(std::runtime_error("boom"));
    b.set_exception(boom);
    BOOST_TEST(g.done());
    BOOST_TEST(!g.cancelled());
    BOOST_TEST((g.exception() == boom));  // the very same exception object
    // Not cancelled: they finish on their own, and the gather ignores them.
    BOOST_TEST(!fc.done());
    c.set_exception(std::make_exception_ptr(std::logic_error("later")));
    BOOST_TEST(fc.done());
    BOOST_TEST((g.exception() == boom));
  }
  // The ignored exception was seen by the gather: no "never retrieved" report for it.
  BOOST_TEST(g_reports == 0);
}

// K.66
BOOST_AUTO_TEST_CASE(an_exception_already_there_fails_the_gather_at_once) {
  futura::promise<int> a;
  auto failed = futura::create_future<int>();
  failed.set_exception(std::make_exception_ptr(std::out_of_range("already")));
  auto g = futura::gather(std::vector{a.get_future(), failed});
  BOOST_TEST(g.done());
  BOOST_CHECK_THROW(g.result(), std::out_of_range);
  a.set_result(1);  // ignored
}

// K.68
BOOST_AUTO_TEST_CASE(a_cancelled_child_fails_the_gather_with_cancelled_error) {
  futura::promise<int> a, b;
  auto fb = b.get_future();
  auto g = futura::gather(a.get_future(), fb);
  BOOST_TEST(fb.cancel("child stopped"));
  BOOST_TEST(g.done());
  BOOST_TEST(!g.cancelled());  // failed with a cancelled_error, not cancelled itself
  BOOST_CHECK_EXCEPTION(g.result(), futura::cancelled_error,
                        [](auto const& e) { return std::string(e.what()) == "child stopped"; });
  BOOST_TEST(!a.done());
}

// K.69
BOOST_AUTO_TEST_CASE(cancelling_the_gather_cancels_every_unfinished_child_with_the_message) {
  futura::promise<int> a, b, c;
  auto fa = a.get_future(), fb = b.get_future(), fc = c.get_future();
  auto g = futura::gather(fa, fb, fc);
  b.set_result(2);
  BOOST_TEST(g.cancel("stop all"));
  BOOST_TEST(g.cancelled());
  BOOST_TEST(fa.cancelled());
  BOOST_TEST(fc.cancelled());
  BOOST_TEST(fb.result() == 2);  // finished children keep their value
  BOOST_CHECK_EXCEPTION(fa.result(), futura::cancelled_error,
                        [](auto const& e) { return std::string(e.what()) == "stop all"; });
  BOOST_CHECK_THROW(g.result(), futura::cancelled_error);
  BOOST_TEST(!a.try_set_result(1));  // the producers find their futures done
}

// K.70
BOOST_AUTO_TEST_CASE(cancelling_a_finished_gather_returns_false_and_keeps_the_result) {
  futura::promise<std::string> a;
  auto g = futura::gather(a.get_future());
  a.set_result("abc");
  BOOST_TEST(!g.cancel());
  BOOST_TEST(std::get<0>(g.result()) == "abc");
}

// K.70
BOOST_AUTO_TEST_CASE(the_same_future_passed_several_times_repeats_its_result) {
  futura::promise<std::string> x, y;
  auto fx = x.get_future(), fy = y.get_future();
  auto g = futura::gather(fx, fx, fy, fx);
  auto gr = futura::gather(std::vector{fx, fx, fy, fx});
  y.set_result("def");
  BOOST_TEST(!g.done());
  x.set_result("abc");
  BOOST_TEST((g.result() == std::tuple<std::string, std::string, std::string, std::string>{
                                "abc", "abc", "def", "abc"}));
  BOOST_TEST((gr.result() == std::vector<std::string>{"abc", "abc", "def", "abc"}));
}

// K.67
BOOST_AUTO_TEST_CASE(gather_settled_puts_exceptions_and_cancellations_at_their_positions) {
  futura::promise<int> a, b, c, d;
  auto fd = d.get_future();
  auto g = futura::gather_settled(a.get_future(), b.get_future(), c.get_future(), fd);
  auto const exc = std::make_exception_ptr(std::runtime_error("exc"));
  c.set_exception(exc);
  BOOST_TEST(!g.done());  // an exception does not end a settled gather
  b.set_result(1);
  fd.cancel();
  BOOST_TEST(!g.done());
  a.set_result(3);
  BOOST_TEST(g.done());
  auto& [ra, rb, rc, rd] = g.result();
  BOOST_TEST((ra && *ra == 3));
  BOOST_TEST((rb && *rb == 1));
  BOOST_TEST((rc.has_error() && rc.error() == exc));
  BOOST_TEST(rd.has_error());
  BOOST_CHECK_THROW(std::rethrow_exception(rd.error()), futura::cancelled_error);
}

// K.67
BOOST_AUTO_TEST_CASE(gather_settled_over_a_range_and_over_void_futures) {
  auto ps = make_promises<int>(3);
  auto g = futura::gather_settled(futures_of(ps));
  ps[1].set_exception(std::make_exception_ptr(std::invalid_argument("bad")));
  ps[2].set_result(7);
  ps[0].set_result(5);
  auto& r = g.result();
  BOOST_TEST(r.size() == 3u);
  BOOST_TEST(*r[0] == 5);
  BOOST_CHECK_THROW(std::rethrow_exception(r[1].error()), std::invalid_argument);
  BOOST_TEST(*r[2] == 7);

  futura::promise<void> v1, v2;
  auto gv = futura::gather_settled(std::vector{v1.get_future(), v2.get_future()});
  static_assert(std::is_same_v<decltype(gv), futura::future<std::vector<futura::settled_t<void>>>>);
  v1.set_result();
  v2.set_exception(std::make_exception_ptr(std::runtime_error("v2")));
  BOOST_TEST(gv.result()[0].has_value());
  BOOST_TEST(gv.result()[1].has_error());
}

// K.69
BOOST_AUTO_TEST_CASE(cancelling_a_settled_gather_still_cancels_its_children) {
  futura::promise<int> a;
  auto fa = a.get_future();
  auto g = futura::gather_settled(fa);
  BOOST_TEST(g.cancel());
  BOOST_TEST(fa.cancelled());
  BOOST_TEST(g.cancelled());
}

BOOST_AUTO_TEST_CASE(void_children_give_monostate_and_a_void_range_gives_future_void) {
  futura::promise<void> v;
  futura::promise<int> i;
  auto g = futura::gather(v.get_future(), i.get_future());
  static_assert(std::is_same_v<decltype(g), futura::future<std::tuple<std::monostate, int>>>);
  v.set_result();
  i.set_result(4);
  BOOST_TEST(std::get<1>(g.result()) == 4);

  auto ps = make_promises<void>(3);
  auto gv = futura::gather(futures_of(ps));
  static_assert(std::is_same_v<decltype(gv), futura::future<void>>);
  for (auto& p : ps) {
    BOOST_TEST(!gv.done());
    p.set_result();
  }
  BOOST_TEST(gv.done());
}

BOOST_AUTO_TEST_CASE(reference_children_give_reference_wrappers_to_the_same_object) {
  int x = 1;
  futura::promise<int&> p;
  auto g = futura::gather(p.get_future());
  p.set_result(x);
  std::get<0>(g.result()).get() = 9;
  BOOST_TEST(x == 9);
}

BOOST_AUTO_TEST_CASE(any_input_range_is_accepted) {
  auto ps = make_promises<int>(3);
  auto fs = futures_of(ps);
  std::list<futura::future<int>> as_list(fs.begin(), fs.end());
  auto from_list = futura::gather(as_list);
  auto from_view = futura::gather(fs | std::views::reverse);  // not a container
  for (int i = 0; i < 3; ++i) ps[static_cast<std::size_t>(i)].set_result(i);
  BOOST_TEST((from_list.result() == std::vector{0, 1, 2}));
  BOOST_TEST((from_view.result() == std::vector{2, 1, 0}));
}

BOOST_AUTO_TEST_CASE(an_empty_handle_is_refused_and_nothing_leaks) {
  g_live = 0;
  futura::promise<counted> p;
  std::vector<futura::future<counted>> fs{p.get_future(), {}};
  BOOST_CHECK_THROW(futura::gather(fs), futura::invalid_state_error);
  BOOST_CHECK_THROW(futura::gather(fs[0], fs[1]), futura::invalid_state_error);
  p.set_result(counted(1));
  fs.clear();
  BOOST_TEST(g_live == 1);  // only the promise's own value
}

BOOST_AUTO_TEST_CASE(every_copied_value_is_destroyed_with_the_gather) {
  g_live = 0;
  {
    auto ps = make_promises<counted>(4);
    auto g = futura::gather(futures_of(ps));
    for (int i = 0; i < 4; ++i) ps[static_cast<std::size_t>(i)].set_result(counted(i));
    BOOST_TEST(g.result().size() == 4u);
    BOOST_TEST(g_live == 8);  // 4 in the children, 4 in the gather
  }
  BOOST_TEST(g_live == 0);
}

// Issue 9: the futures already done when a range gather is made, up to the first that is
// not, are read there and then: no node, no reference kept. The rest are children.
BOOST_AUTO_TEST_CASE(a_ready_prefix_is_read_at_once_and_the_rest_are_children) {
  g_live = 0;
  {
    auto ps = make_promises<counted>(4);
    ps[0].set_result(counted(0));
    ps[1].set_result(counted(1));
    ps[3].set_result(counted(3));  // done, but after a pending one: a child
    auto g = futura::gather(futures_of(ps));
    BOOST_TEST(g_live == 3 + 2);  // the 2 of the prefix are copied already
    ps[0] = {};                   // nothing else holds the prefix's states now
    ps[1] = {};
    BOOST_TEST(g_live == 1 + 2);
    BOOST_TEST(!g.done());
    ps[2].set_result(counted(2));
    auto const& r = g.result();
    BOOST_TEST(r.size() == 4u);
    for (int i = 0; i < 4; ++i) BOOST_TEST(r[static_cast<std::size_t>(i)].v == i);
  }
  BOOST_TEST(g_live == 0);
}

struct copy_throws {
  int v = 0;
  explicit copy_throws(int x) : v(x) {}
  copy_throws(copy_throws&&) = default;
  copy_throws(copy_throws const& o) : v(o.v) {
    if (v < 0) throw std::runtime_error("copy of " + std::to_string(v));
  }
};

BOOST_AUTO_TEST_CASE(a_copy_that_throws_in_the_ready_prefix_fails_the_gather_with_it) {
  auto ps = make_promises<copy_throws>(3);
  ps[0].set_result(copy_throws(1));
  ps[1].set_result(copy_throws(-1));
  auto g = futura::gather(futures_of(ps));  // ps[2] pending: still a child
  BOOST_TEST(!g.done());  // as when values were copied at the end: a child may fail it yet
  ps[2].set_result(copy_throws(2));
  BOOST_CHECK_EXCEPTION(g.result(), std::runtime_error,
                        [](auto const& e) { return std::string(e.what()) == "copy of -1"; });
}

// Review of issue 9: the copy is made earlier now, but what wins stays the same. A child
// that failed still fails the gather with its own exception, as when values were copied
// only once every child had one.
BOOST_AUTO_TEST_CASE(a_failed_child_beats_a_copy_that_throws_in_the_ready_prefix) {
  auto ps = make_promises<copy_throws>(2);
  ps[0].set_result(copy_throws(-1));
  ps[1].set_exception(std::make_exception_ptr(std::runtime_error("b failed")));
  auto g = futura::gather(futures_of(ps));
  BOOST_CHECK_EXCEPTION(g.result(), std::runtime_error,
                        [](auto const& e) { return std::string(e.what()) == "b failed"; });
}

// ... and a gather refused for an empty handle after such a copy leaves nothing to report.
BOOST_AUTO_TEST_CASE(a_gather_refused_after_a_throwing_prefix_copy_reports_nothing) {
  report_counter reports;
  futura::promise<copy_throws> p;
  p.set_result(copy_throws(-1));
  std::vector<futura::future<copy_throws>> fs{p.get_future(), {}};
  BOOST_CHECK_THROW(futura::gather(fs), futura::invalid_state_error);
  BOOST_TEST(g_reports == 0);
}

BOOST_AUTO_TEST_CASE(a_settled_ready_prefix_takes_exceptions_in_place) {
  auto ps = make_promises<int>(3);
  ps[0].set_exception(std::make_exception_ptr(std::runtime_error("zero")));
  ps[1].set_result(1);
  auto fs = futures_of(ps);
  fs[2].cancel();
  auto g = futura::gather_settled(fs);
  auto const& r = g.result();
  BOOST_TEST(r.size() == 3u);
  BOOST_TEST(r[0].has_error());
  BOOST_TEST(r[1].value() == 1);
  BOOST_CHECK_THROW(std::rethrow_exception(r[2].error()), futura::cancelled_error);
}

BOOST_AUTO_TEST_CASE(the_gather_keeps_its_children_alive_when_nobody_else_does) {
  futura::future<std::tuple<int, int>> g;
  futura::promise<int> a, b;
  g = futura::gather(a.get_future(), b.get_future());  // the child handles were temporaries
  a.set_result(1);
  b.set_result(2);
  BOOST_TEST((g.result() == std::tuple{1, 2}));
}

BOOST_AUTO_TEST_CASE(gathers_nest) {
  futura::promise<int> a, b, c;
  auto inner = futura::gather(a.get_future(), b.get_future());
  auto outer = futura::gather(inner, c.get_future());
  c.set_result(3);
  a.set_result(1);
  BOOST_TEST(!outer.done());
  b.set_result(2);
  auto [ab, cc] = outer.result();
  BOOST_TEST((ab == std::tuple{1, 2}));
  BOOST_TEST(cc == 3);
  // Cancelling the outer gather reaches the grandchildren through the inner one.
  futura::promise<int> d, e;
  auto fd = d.get_future();
  auto outer2 = futura::gather(futura::gather(fd), e.get_future());
  outer2.cancel();
  BOOST_TEST(fd.cancelled());
}

BOOST_AUTO_TEST_CASE(one_gather_mixes_a_thread_pool_an_asio_pool_and_plain_futures) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  boost::asio::thread_pool asio_pool{1};
  std::latch go{1};
  auto from_pool = pool.submit([&go] {
    go.wait();
    return std::string("pool");
  });
  auto from_asio = futura::submit(asio_pool.get_executor(), [&go] {
    go.wait();
    return 2.5;
  });
  futura::promise<int> p;
  auto by_hand = futura::create_future<long>();
  auto already = futura::create_future<void>();
  already.set_result();
  auto g = futura::gather(from_pool, p.get_future(), from_asio, by_hand, already);
  BOOST_TEST(!g.done());
  p.set_result(1);
  by_hand.set_result(7L);
  BOOST_TEST(!g.done());  // the pool tasks are still held at the latch
  go.count_down();
  auto [s, i, d, l, none] = g.result();
  BOOST_TEST(s == "pool");
  BOOST_TEST(i == 1);
  BOOST_TEST(d == 2.5);
  BOOST_TEST(l == 7L);
  (void)none;
  asio_pool.join();
}

BOOST_AUTO_TEST_CASE(cancelling_a_gather_leaves_a_running_pool_task_to_finish_alone) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  std::latch started{1}, release{1};
  auto running = pool.submit([&] {
    started.count_down();
    release.wait();
    return 5;
  });
  started.wait();
  futura::promise<int> other;
  auto fo = other.get_future();
  auto g = futura::gather(running, fo);
  BOOST_TEST(g.cancel());
  BOOST_TEST(g.cancelled());
  BOOST_TEST(fo.cancelled());
  BOOST_TEST(!running.cancelled());  // a running pool task cannot be stopped (Python too)
  release.count_down();
  BOOST_TEST(running.result() == 5);  // and completing it touches nothing of the gather
}

BOOST_AUTO_TEST_CASE(children_completing_on_many_threads_at_once_give_every_value) {
  constexpr int n = 200, threads = 4;
  for (int round = 0; round < 20; ++round) {
    auto ps = make_promises<int>(n);
    auto g = futura::gather(futures_of(ps));
    auto gs = futura::gather_settled(futures_of(ps));
    std::latch go{threads};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        go.arrive_and_wait();
        for (int i = t; i < n; i += threads) ps[static_cast<std::size_t>(i)].set_result(i);
      });
    auto const& r = g.result();
    for (auto& t : ts) t.join();
    BOOST_TEST(r.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) BOOST_TEST(r[static_cast<std::size_t>(i)] == i);
    BOOST_TEST(gs.result().size() == static_cast<std::size_t>(n));
  }
}

BOOST_AUTO_TEST_CASE(cancel_racing_with_children_completing_is_safe_and_ends_one_way) {
  constexpr int n = 64;
  for (int round = 0; round < 50; ++round) {
    auto ps = make_promises<int>(n);
    auto g = futura::gather(futures_of(ps));
    std::latch go{2};
    std::thread t([&] {
      go.arrive_and_wait();
      for (int i = 0; i < n; ++i) ps[static_cast<std::size_t>(i)].try_set_result(i);
    });
    go.arrive_and_wait();
    bool const cancelled = g.cancel();
    t.join();
    BOOST_TEST(g.done());
    if (cancelled) {
      BOOST_TEST(g.cancelled());
    } else {
      BOOST_TEST(g.result().size() == static_cast<std::size_t>(n));
    }
  }
}

BOOST_AUTO_TEST_CASE(dropping_the_gather_before_its_children_finish_leaks_nothing) {
  report_counter reports;
  g_live = 0;
  auto ps = make_promises<counted>(3);
  {
    auto g = futura::gather(futures_of(ps));
    ps[0].set_result(counted(0));
  }  // nobody can read the gather any more: it stops listening and lets go of its children
  ps[1].set_result(counted(1));
  ps.clear();  // the last one is broken, and nobody hears of it
  BOOST_TEST(g_live == 0);
  BOOST_TEST(g_reports == 0);
}

BOOST_AUTO_TEST_CASE(a_gather_of_a_future_nobody_can_complete_is_freed_with_its_last_handle) {
  g_live = 0;
  auto never = futura::create_future<counted>();  // no producer: only set_result completes it
  futura::promise<counted> p;
  {
    auto g = futura::gather(never, p.get_future());
    p.set_result(counted(1));
    never = {};  // now only the gather holds it: the two would keep each other alive
  }
  p = {};
  BOOST_TEST(g_live == 0);
}

BOOST_AUTO_TEST_CASE(a_gather_dropped_while_a_callback_waits_on_it_still_runs_the_callback) {
  futura::promise<int> a;
  bool ran = false;
  futura::gather(a.get_future()).add_done_callback([&] { ran = true; });
  a.set_result(1);
  BOOST_TEST(ran);
}

// The async side: a gather is a future, so a coroutine awaits it like any other.

using test_support::run_coroutine;

// K.64
BOOST_AUTO_TEST_CASE(a_coroutine_awaits_a_gather_of_loop_pool_and_plain_futures) {
  boost::asio::io_context io;
  futura::thread_pool_executor pool{{.max_workers = 1}};
  auto on_loop = futura::create_future<int>(io);
  futura::promise<double> by_hand;
  std::tuple<int, std::string, double> got;
  boost::asio::post(io, [&] {
    on_loop.set_result(1);
    by_hand.set_result(0.5);
  });
  auto e = run_coroutine(io, [&]() -> boost::asio::awaitable<void> {
    auto from_pool = pool.submit([] { return std::string("pool"); });
    got = co_await futura::gather(on_loop, from_pool, by_hand.get_future());
  });
  BOOST_TEST(!e);
  BOOST_TEST((got == std::tuple<int, std::string, double>{1, "pool", 0.5}));
}

// K.66, K.69
BOOST_AUTO_TEST_CASE(a_coroutine_gets_the_first_exception_and_a_cancelled_gather_throws) {
  boost::asio::io_context io;
  futura::promise<int> a, b;
  auto fa = a.get_future();
  bool caught = false;
  boost::asio::post(io, [&] { b.set_exception(std::make_exception_ptr(std::domain_error("d"))); });
  auto e = run_coroutine(io, [&]() -> boost::asio::awaitable<void> {
    auto failing = futura::gather(std::vector{fa, b.get_future()});
    try {
      auto values = co_await failing.async_wait(boost::asio::use_awaitable);
      BOOST_TEST(values.empty());  // not reached
    } catch (std::domain_error const&) {
      caught = true;
    }
    auto g = futura::gather(fa);
    g.cancel();
    auto never = co_await g;  // throws cancelled_error
    (void)never;
  });
  BOOST_TEST(caught);
  BOOST_CHECK_THROW(std::rethrow_exception(e), futura::cancelled_error);
  BOOST_TEST(fa.cancelled());
}

// Issue 8: the deadlock guard covers a gather of loop-bound futures; it is loop-bound too.
BOOST_AUTO_TEST_CASE(gather_of_loop_futures_is_loop_bound_and_refuses_a_blocking_wait_there) {
  boost::asio::io_context ioc;
  auto a = futura::create_future<int>(ioc);
  auto b = futura::create_future<int>(ioc);
  auto both = futura::gather(a, b);
  auto all = futura::gather(std::vector{a, b});
  std::string what, what_range;
  bool callback_inline = false, in_set_result = false;
  boost::asio::post(ioc, [&] {
    what = test_support::what_of<futura::invalid_state_error>([&] { (void)both.result(); });
    what_range = test_support::what_of<futura::invalid_state_error>([&] { (void)all.result(); });
    in_set_result = true;
    both.add_done_callback([&] { callback_inline = in_set_result; });
    a.set_result(1);
    b.set_result(2);
    in_set_result = false;  // asyncio: the gather's callbacks run on a later turn
  });
  ioc.run();
  BOOST_TEST(what == "Result is not set.");
  BOOST_TEST(what_range == "Result is not set.");
  BOOST_TEST(!callback_inline);
  BOOST_TEST((both.result() == std::tuple{1, 2}));
}

// Issue 9: the per-call blocks of a gather over a million futures are recycled per thread
// (a fresh 48 MB mmap per call faulted in 12,000 pages every time).
BOOST_AUTO_TEST_CASE(large_per_call_blocks_are_recycled_by_the_thread_that_freed_them) {
  using namespace futura::detail;
  constexpr std::size_t big = 4 * large_block_min;
  void* first = allocate_large(big);
  std::memset(first, 1, big);  // usable to the last byte
  deallocate_large(first);
  void* again = allocate_large(big - 100);  // fits: the same block
  BOOST_TEST(again == first);
  void* other = allocate_large(big);  // the kept one is in use: a fresh one
  BOOST_TEST(other != again);
  deallocate_large(again);
  deallocate_large(other);               // both kept: an as_completed holds four blocks at once
  void* tiny = allocate_large(big / 4);  // less than half a kept block: not wasted on it
  BOOST_TEST(tiny != first);
  BOOST_TEST(tiny != other);
  void* one = allocate_large(big);
  void* two = allocate_large(big);
  BOOST_TEST(((one == first && two == other) || (one == other && two == first)));
  deallocate_large(tiny);
  deallocate_large(one);
  deallocate_large(two);
  std::thread([&] {  // another thread keeps its own, freed when it ends (ASan: no leak)
    void* p = allocate_large(big);
    BOOST_TEST(p != first);
    deallocate_large(p);
  })
      .join();
  // Full slots: a larger block evicts the smallest kept ones until it fits the bound.
  {
    constexpr std::size_t mb = std::size_t{1} << 20;
    release_kept_large_blocks();
    BOOST_TEST(large_block_bytes_kept() == 0u);
    void* blocks[] = {allocate_large(200 * mb), allocate_large(20 * mb), allocate_large(20 * mb),
                      allocate_large(15 * mb)};
    for (void* p : blocks) deallocate_large(p);
    BOOST_TEST(large_block_bytes_kept() == 255 * mb);
    deallocate_large(allocate_large(30 * mb));  // no room: the 15 and one 20 make way
    BOOST_TEST(large_block_bytes_kept() == 250 * mb);
    deallocate_large(allocate_large(250 * mb));  // larger than all but the bound: it alone
    BOOST_TEST(large_block_bytes_kept() == 250 * mb);
    void* big2 = allocate_large(250 * mb);  // the kept one
    BOOST_TEST(large_block_bytes_kept() == 0u);
    deallocate_large(big2);
    release_kept_large_blocks();
    BOOST_TEST(large_block_bytes_kept() == 0u);
  }
  // A gather big enough to use one still gives every value, twice over.
  for (int round = 0; round < 2; ++round) {
    std::vector<futura::future<int>> fs;
    for (int i = 0; i < 40'000; ++i) {  // 40,000 children: ~1.9 MB of nodes
      fs.push_back(futura::create_future<int>());
      fs.back().set_result(i);
    }
    auto all = futura::gather(fs).result();
    BOOST_TEST(all.size() == 40'000u);
    BOOST_TEST(all[39'999] == 39'999);
  }
}
