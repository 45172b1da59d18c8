#include <futura/task_group.hpp>

#define BOOST_TEST_MODULE task_group
#include <boost/test/unit_test.hpp>

#define FUTURA_TEST_HOOK_NEW  // a spawn that runs out of memory at any allocation
#include "test_support.hpp"

#include <futura/promise.hpp>
#include <futura/thread_pool_executor.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <latch>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

/// Never finishes by itself: only cancellation ends it.
asio::awaitable<int> forever(std::vector<std::string>& log, std::string name) {
  try {
    co_await futura::create_future<int>(co_await asio::this_coro::executor);
  } catch (futura::cancelled_error const&) {
    log.push_back(name + " cancelled");
    throw;
  }
  co_return 0;
}

asio::awaitable<int> value_after(futura::future<void> gate, int v) {
  co_await gate;
  co_return v;
}

asio::awaitable<int> fail_after(futura::future<void> gate, std::string what) {
  co_await gate;
  throw std::runtime_error(what);
}

}  // namespace

// Q.87
BOOST_AUTO_TEST_CASE(join_waits_for_every_child_and_results_are_there_afterwards) {
  asio::io_context ioc;
  std::vector<int> got;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto gate_a = futura::create_future<void>(ex);
    auto gate_b = futura::create_future<void>(ex);
    futura::task_group tg(ex);
    auto a = tg.spawn(value_after(gate_a, 1));
    auto b = tg.spawn(value_after(gate_b, 2));
    gate_b.set_result();  // b finishes first; join still waits for a
    gate_a.set_result();
    co_await tg.join();
    BOOST_TEST(a.done());
    BOOST_TEST(b.done());
    got = {a.result(), b.result()};
  });
  ioc.run();
  main.result();
  BOOST_TEST(got == (std::vector<int>{1, 2}));
}

// Q.87
BOOST_AUTO_TEST_CASE(cancelling_one_child_by_hand_leaves_the_others_alone) {
  asio::io_context ioc;
  std::vector<std::string> log;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<int> {
    auto ex = co_await asio::this_coro::executor;
    auto gate = futura::create_future<void>(ex);
    futura::task_group tg(ex);
    auto doomed = tg.spawn(forever(log, "doomed"));
    auto fine = tg.spawn(value_after(gate, 7));
    co_await futura::sleep(0ms);  // let both start
    doomed.cancel();
    gate.set_result();
    co_await tg.join();  // no exception: a cancellation is not a failure
    BOOST_TEST(doomed.cancelled());
    co_return fine.result();
  });
  ioc.run();
  BOOST_TEST(main.result() == 7);
  BOOST_TEST(log == (std::vector<std::string>{"doomed cancelled"}));
}

// Q.88
BOOST_AUTO_TEST_CASE(the_first_failure_cancels_the_siblings_and_join_throws_an_exception_group) {
  asio::io_context ioc;
  std::vector<std::string> log;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto gate = futura::create_future<void>(ex);
    futura::task_group tg(ex);
    auto sibling = tg.spawn(forever(log, "sibling"));
    tg.spawn(fail_after(gate, "boom"));
    co_await futura::sleep(0ms);
    gate.set_result();
    try {
      co_await tg.join();
      BOOST_FAIL("join() must throw");
    } catch (futura::exception_group const& g) {
      BOOST_TEST(std::string(g.what()) == "unhandled errors in a TaskGroup (1 sub-exception)");
      BOOST_REQUIRE(g.exceptions().size() == 1u);
      BOOST_CHECK_EXCEPTION(std::rethrow_exception(g.exceptions()[0]), std::runtime_error,
                            [](auto const& e) { return std::string(e.what()) == "boom"; });
    }
    BOOST_TEST(sibling.cancelled());
  });
  ioc.run();
  main.result();
  BOOST_TEST(log == (std::vector<std::string>{"sibling cancelled"}));
}

// Q.88: several failures are all listed, in the order they happened.
BOOST_AUTO_TEST_CASE(every_failure_is_listed_in_the_group) {
  asio::io_context ioc;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<std::size_t> {
    auto ex = co_await asio::this_coro::executor;
    futura::thread_pool_executor pool{{.max_workers = 1}};
    std::latch release(1);
    futura::task_group tg(ex);
    // Two pool children that fail; they are running, so the first failure cannot cancel
    // the second one: both failures arrive.
    tg.spawn(pool.submit([&]() -> int {
      release.wait();
      throw std::invalid_argument("first");
    }));
    auto second = pool.submit([]() -> int { throw std::out_of_range("second"); });
    tg.spawn(second);
    release.count_down();
    try {
      co_await tg.join();
    } catch (futura::exception_group const& g) {
      BOOST_TEST(std::string(g.what()).find("sub-exception") != std::string::npos);
      co_return g.exceptions().size();
    }
    co_return 0;
  });
  ioc.run();
  // The second was queued behind the first on a one-worker pool: the first failure
  // cancelled it before it started, so it is not a failure.
  BOOST_TEST(main.result() == 1u);
}

// Q.90
BOOST_AUTO_TEST_CASE(cancelling_the_joining_task_cancels_every_child_and_join_throws_cancelled) {
  asio::io_context ioc;
  std::vector<std::string> log;
  futura::future<int> child;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    futura::task_group tg(ex);
    child = tg.spawn(forever(log, "child"));
    co_await tg.join();
  });
  ioc.poll();  // main and the child are now waiting
  BOOST_TEST(!main.done());
  BOOST_TEST(main.cancel());
  ioc.run();
  BOOST_TEST(main.cancelled());
  BOOST_TEST(child.cancelled());
  BOOST_TEST(log == (std::vector<std::string>{"child cancelled"}));
}

// Q.92
BOOST_AUTO_TEST_CASE(spawning_into_a_joined_or_failing_group_throws_and_never_runs_the_child) {
  asio::io_context ioc;
  bool ran = false;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    futura::task_group tg(ex);
    co_await tg.join();
    auto late = [&]() -> asio::awaitable<int> {
      ran = true;
      co_return 1;
    };
    BOOST_CHECK_EXCEPTION(tg.spawn(late()), futura::invalid_state_error, [](auto const& e) {
      return std::string(e.what()) == "TaskGroup is finished";
    });
    BOOST_CHECK_THROW(co_await tg.join(), futura::invalid_state_error);

    futura::task_group failing(ex);
    auto gate = futura::create_future<void>(ex);
    failing.spawn(fail_after(gate, "x"));
    co_await futura::sleep(0ms);
    gate.set_result();
    co_await futura::sleep(0ms);
    co_await futura::sleep(0ms);
    BOOST_CHECK_EXCEPTION(failing.spawn(late()), futura::invalid_state_error, [](auto const& e) {
      return std::string(e.what()) == "TaskGroup is shutting down";
    });
    BOOST_CHECK_THROW(co_await failing.join(), futura::exception_group);
  });
  ioc.run();
  main.result();
  BOOST_TEST(!ran);
}

BOOST_AUTO_TEST_CASE(functions_and_foreign_futures_join_the_group) {
  asio::io_context ioc;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<int> {
    futura::thread_pool_executor pool{{.max_workers = 1}};
    futura::task_group tg(co_await asio::this_coro::executor);
    auto posted = tg.spawn([](int x) { return x * 2; }, 21);              // posted call
    auto coro = tg.spawn([]() -> asio::awaitable<int> { co_return 5; });  // coroutine fn
    auto pooled = tg.spawn(pool.submit([] { return 100; }));              // pool future
    co_await tg.join();
    co_return posted.result() + coro.result() + pooled.result();
  });
  ioc.run();
  BOOST_TEST(main.result() == 147);
}

BOOST_AUTO_TEST_CASE(a_group_destroyed_without_join_cancels_its_children) {
  asio::io_context ioc;
  std::vector<std::string> log;
  futura::future<int> child;
  {
    futura::task_group tg(ioc.get_executor());
    child = tg.spawn(forever(log, "orphan"));
    ioc.poll();
  }
  ioc.run();
  BOOST_TEST(child.cancelled());
  BOOST_TEST(log == (std::vector<std::string>{"orphan cancelled"}));
}

// Issue 8: a spawn that fails half-way (out of memory) leaves nothing counted.
BOOST_AUTO_TEST_CASE(a_spawn_that_runs_out_of_memory_at_any_allocation_leaves_the_group_joinable) {
  for (int k = 0;; ++k) {
    asio::io_context ioc;
    futura::promise<int> p;
    auto child = p.get_future();
    bool threw = false, joined = false;
    auto body = futura::create_task(ioc, [&]() -> asio::awaitable<void> {
      futura::task_group tg(co_await asio::this_coro::executor);
      test_support::allocations::fail_in = k;
      try {
        tg.spawn(child);
      } catch (std::bad_alloc const&) {
        threw = true;
      }
      test_support::allocations::fail_in = -1;
      (void)p.try_set_result(1);  // a refused child was cancelled
      co_await tg.join();
      joined = true;
    });
    ioc.run_for(10s);
    BOOST_TEST(joined, "allocation " << k << " failing");
    if (!threw) break;  // spawn made fewer than k allocations: every one was tried
  }
}

// Issue 10: the group itself can be cancelled; it then takes no new children, and join()
// throws cancelled_error.
BOOST_AUTO_TEST_CASE(cancel_on_the_group_cancels_every_child_and_join_throws_cancelled) {
  asio::io_context ioc;
  std::vector<std::string> log;
  futura::future<int> a, b;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<std::string> {
    auto ex = co_await asio::this_coro::executor;
    futura::task_group tg(ex);
    a = tg.spawn(forever(log, "a"));
    b = tg.spawn(forever(log, "b"));
    co_await futura::sleep(0ms);  // both children are waiting
    tg.cancel();
    std::string refused;
    try {
      tg.spawn(forever(log, "late"));
    } catch (futura::invalid_state_error const& e) {
      refused = e.what();
    }
    try {
      co_await tg.join();
    } catch (futura::cancelled_error const&) {
      co_return refused;
    }
    co_return "join() returned";
  });
  ioc.run();
  BOOST_TEST(main.result() == "TaskGroup is shutting down");
  BOOST_TEST(a.cancelled());
  BOOST_TEST(b.cancelled());
  std::sort(log.begin(), log.end());
  BOOST_TEST(log == (std::vector<std::string>{"a cancelled", "b cancelled"}));
}

// asyncio: a child that awaits a running pool future is cancelled at once when a sibling
// fails; join() does not wait for the pool task, which runs on.
BOOST_AUTO_TEST_CASE(a_child_awaiting_a_running_pool_future_is_cancelled_at_once) {
  asio::io_context ioc;
  futura::thread_pool_executor pool{{.max_workers = 1}};
  std::latch started(1);
  std::latch release(1);
  auto slow = pool.submit([&] {
    started.count_down();
    release.wait();
    return 1;
  });
  started.wait();  // it runs: it cannot be cancelled any more
  futura::future<int> waiter;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<std::size_t> {
    auto ex = co_await asio::this_coro::executor;
    auto gate = futura::create_future<void>(ex);
    futura::task_group tg(ex);
    // The sibling fails only once the waiter is suspended on the running pool future.
    waiter = tg.spawn([&]() -> asio::awaitable<int> {
      gate.set_result();
      co_return co_await slow;
    });
    tg.spawn(fail_after(gate, "boom"));
    try {
      co_await tg.join();
    } catch (futura::exception_group const& g) {
      co_return g.exceptions().size();
    }
    co_return 0;
  });
  ioc.run_for(10s);
  BOOST_TEST(ioc.stopped());  // out of work, without the pool task finishing
  BOOST_TEST(main.result() == 1u);
  BOOST_TEST(waiter.cancelled());
  BOOST_TEST(slow.running());
  release.count_down();
  BOOST_TEST(slow.result() == 1);
}

// `async with TaskGroup() as tg:` whose body raises: the children are cancelled and
// waited for, and the body's exception comes first in the group.
BOOST_AUTO_TEST_CASE(a_body_that_throws_cancels_the_children_and_is_listed_first) {
  asio::io_context ioc;
  std::vector<std::string> log;
  futura::future<int> child;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<std::string> {
    auto body = [&](futura::task_group& tg) -> asio::awaitable<void> {
      child = tg.spawn(forever(log, "child"));
      co_await futura::sleep(0ms);
      throw std::runtime_error("body");
    };
    try {
      co_await futura::with_task_group(body);
    } catch (futura::exception_group const& g) {
      if (g.exceptions().size() != 1) co_return "wrong count";
      try {
        std::rethrow_exception(g.exceptions()[0]);
      } catch (std::runtime_error const& e) {
        co_return e.what();
      }
    }
    co_return "no exception";
  });
  ioc.run();
  BOOST_TEST(main.result() == "body");
  BOOST_TEST(child.cancelled());
  BOOST_TEST(log == (std::vector<std::string>{"child cancelled"}));
}

BOOST_AUTO_TEST_CASE(with_task_group_returns_once_every_child_is_done) {
  asio::io_context ioc;
  futura::future<int> a, b;
  auto main = futura::create_task(ioc, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto gate = futura::create_future<void>(ex);
    auto body = [&](futura::task_group& tg) -> asio::awaitable<void> {
      a = tg.spawn(value_after(gate, 1));
      b = tg.spawn(value_after(gate, 2));
      gate.set_result();
      co_return;
    };
    co_await futura::with_task_group(body);
    BOOST_TEST(a.done());
    BOOST_TEST(b.done());
  });
  ioc.run();
  main.result();
  BOOST_TEST(a.result() + b.result() == 3);
}
