#include <futura/semaphore.hpp>

#define BOOST_TEST_MODULE semaphore
#include <boost/test/unit_test.hpp>

#include <futura/loop.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

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

BOOST_AUTO_TEST_CASE(a_coroutine_cancelled_while_waiting_gives_its_turn_to_the_next) {
  asio::io_context ioc;
  futura::semaphore s(0);
  bool second_got_it = false;
  auto first = futura::create_task(ioc, [&]() -> asio::awaitable<void> { co_await s.acquire(); });
  auto second = futura::create_task(ioc, [&]() -> asio::awaitable<void> {
    co_await s.acquire();
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
}
