#include <futura/semaphore.hpp>

#define BOOST_TEST_MODULE semaphore
#include <boost/test/unit_test.hpp>

#include <futura/loop.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(a_negative_initial_value_is_refused) {
  BOOST_CHECK_THROW(futura::semaphore(-1), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(acquire_is_immediate_while_units_are_free_then_waits_for_release) {
  futura::semaphore s(2);
  auto a = s.acquire();
  auto b = s.acquire();
  BOOST_TEST(a.done());
  BOOST_TEST(b.done());
  BOOST_TEST(s.locked());
  auto c = s.acquire();
  BOOST_TEST(!c.done());
  BOOST_TEST(!s.try_acquire());
  s.release();
  BOOST_TEST(c.done());
  BOOST_TEST(s.locked());  // the unit went to c, not back to the pool
  s.release();
  BOOST_TEST(!s.locked());
  BOOST_TEST(s.try_acquire());
}

BOOST_AUTO_TEST_CASE(waiters_are_served_first_come_first_served_and_cancelled_ones_are_skipped) {
  futura::semaphore s(0);
  auto first = s.acquire();
  auto second = s.acquire();
  auto third = s.acquire();
  second.cancel();
  s.release();
  BOOST_TEST(first.done());
  BOOST_TEST(!third.done());
  s.release();  // second gave up: third is next
  BOOST_TEST(third.done());
  BOOST_TEST(s.locked());
}

BOOST_AUTO_TEST_CASE(it_bounds_how_many_coroutines_run_at_once) {
  asio::io_context ioc;
  futura::semaphore limit(3);
  int running = 0;
  int peak = 0;
  std::vector<futura::future<void>> tasks;
  for (int i = 0; i < 12; ++i)
    tasks.push_back(futura::create_task(ioc, [&]() -> asio::awaitable<void> {
      co_await limit.acquire();
      futura::semaphore::releaser done(limit);
      peak = std::max(peak, ++running);
      co_await futura::sleep(1ms);
      --running;
    }));
  ioc.run();
  for (auto& t : tasks) t.result();
  BOOST_TEST(peak == 3);
  BOOST_TEST(!limit.locked());
}

BOOST_AUTO_TEST_CASE(threads_can_block_on_acquire_while_another_thread_releases) {
  futura::semaphore s(0);
  std::thread releaser([&] { s.release(); });
  s.acquire().result();  // blocks until the release
  releaser.join();
  BOOST_TEST(s.locked());
}

/// The units free now (taken and given back).
std::size_t free_units(futura::semaphore& s) {
  std::size_t n = 0;
  while (s.try_acquire()) ++n;
  for (std::size_t i = 0; i < n; ++i) s.release();
  return n;
}

/// A coroutine cancelled while waiting in `wait_for_unit(s)` gives its turn to the next,
/// and takes nothing; `units_left`: what is free once both are done.
template <class WaitForUnit>
void check_a_cancelled_waiter_gives_its_turn(WaitForUnit wait_for_unit, std::size_t units_left) {
  asio::io_context ioc;
  futura::semaphore s(0);
  bool second_got_it = false;
  auto first = futura::create_task(ioc, [&]() -> asio::awaitable<void> {
    auto waiting = wait_for_unit(s);
    co_await std::move(waiting);
  });
  auto second = futura::create_task(ioc, [&]() -> asio::awaitable<void> {
    auto waiting = wait_for_unit(s);
    co_await std::move(waiting);
    second_got_it = true;
  });
  ioc.poll();
  first.cancel();
  ioc.poll();
  BOOST_TEST(first.cancelled());
  s.release();
  ioc.run();
  BOOST_TEST(second_got_it);
  second.result();
  BOOST_TEST(free_units(s) == units_left);
}

BOOST_AUTO_TEST_CASE(a_coroutine_cancelled_while_waiting_gives_its_turn_to_the_next) {
  check_a_cancelled_waiter_gives_its_turn(
      [](futura::semaphore& s) -> asio::awaitable<void> { co_await s.acquire(); }, 0);
}

// Issue 8: no unit is ever lost to a waiter that gave up.
BOOST_AUTO_TEST_CASE(a_timed_out_blocking_acquire_never_takes_a_unit_for_good) {
  futura::semaphore sem(1);
  sem.acquire().result();                                                // the one unit
  BOOST_CHECK_THROW(sem.acquire().result(10ms), futura::timeout_error);  // left in the queue
  sem.release();
  BOOST_TEST(sem.try_acquire());  // the unit came back, not to the abandoned future
}

BOOST_AUTO_TEST_CASE(acquire_for_gives_up_at_its_deadline_and_takes_nothing) {
  futura::semaphore sem(1);
  BOOST_TEST(sem.acquire_for(1s));
  BOOST_TEST(!sem.acquire_for(10ms));
  BOOST_TEST(!sem.acquire_for(0ms));
  sem.release();
  BOOST_TEST(sem.acquire_for(0ms));
  sem.release();
  BOOST_TEST(!sem.locked());
}

BOOST_AUTO_TEST_CASE(acquire_for_racing_release_ends_with_every_unit_accounted_for) {
  futura::semaphore sem(2);
  std::atomic<int> held{0}, max_held{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (!sem.acquire_for(std::chrono::microseconds(i % 50))) continue;
        int const now = ++held;
        int prev = max_held.load();
        while (now > prev && !max_held.compare_exchange_weak(prev, now)) {
        }
        --held;
        sem.release();
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(max_held.load() <= 2);
  BOOST_TEST(sem.try_acquire());
  BOOST_TEST(sem.try_acquire());
  BOOST_TEST(!sem.try_acquire());  // exactly the two units, none lost, none made up
}

// Issue 10: acquire_scoped(), asyncio's `async with sem`: the unit goes back by itself.

BOOST_AUTO_TEST_CASE(acquire_scoped_bounds_coroutines_and_every_unit_comes_back) {
  asio::io_context ioc;
  futura::semaphore limit(3);
  int running = 0, peak = 0;
  std::vector<futura::future<void>> tasks;
  for (int i = 0; i < 12; ++i)
    tasks.push_back(futura::create_task(ioc, [&, i]() -> asio::awaitable<void> {
      auto held = co_await limit.acquire_scoped();
      peak = std::max(peak, ++running);
      co_await futura::sleep(1ms);
      --running;
      if (i % 4 == 0) throw std::runtime_error("failed while holding");  // still released
    }));
  ioc.run();
  int failed = 0;
  for (auto& t : tasks) failed += t.exception() != nullptr;
  BOOST_TEST(failed == 3);
  BOOST_TEST(peak == 3);
  BOOST_TEST(free_units(limit) == 3u);
}

BOOST_AUTO_TEST_CASE(a_scoped_waiter_cancelled_in_line_gives_its_turn_and_takes_nothing) {
  check_a_cancelled_waiter_gives_its_turn(
      [](futura::semaphore& s) -> asio::awaitable<void> {
        auto held = co_await s.acquire_scoped();  // released when the coroutine ends
      },
      1);
}

BOOST_AUTO_TEST_CASE(a_granted_scoped_unit_nobody_reads_goes_back_when_dropped) {
  futura::semaphore s(1);
  {
    auto granted = s.acquire_scoped();
    BOOST_TEST(granted.done());
    BOOST_TEST(s.locked());
  }
  BOOST_TEST(free_units(s) == 1u);
  {
    auto waiting = s.acquire_scoped();
    auto blocked = s.acquire_scoped();
    BOOST_TEST(!blocked.done());
  }  // the granted one goes back; the waiting one gives up its turn
  BOOST_TEST(free_units(s) == 1u);
}
