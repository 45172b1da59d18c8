#include <futura/awaitable_operators.hpp>

#define BOOST_TEST_MODULE awaitable_operators
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <futura/loop.hpp>
#include <futura/promise.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
/// Runs `body` on `ioc` to the end, rethrowing what it throws.
template <class F>
void run_on(asio::io_context& ioc, F body) {
  asio::co_spawn(ioc, std::move(body), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ioc.run();
}
}  // namespace

BOOST_AUTO_TEST_CASE(or_gives_the_first_to_finish_and_cancels_the_other) {
  asio::io_context ioc;
  auto slow = futura::create_future<int>(ioc);
  auto fast = futura::create_future<std::string>(ioc);
  std::variant<int, std::string> got;
  run_on(ioc, [&]() -> asio::awaitable<void> {
    asio::post(ioc, [&] { fast.set_result("fast"); });
    auto either = slow || fast;
    got = co_await std::move(either);
  });
  BOOST_TEST(got.index() == 1u);
  BOOST_TEST(std::get<1>(got) == "fast");
  BOOST_TEST(slow.cancelled());  // the loser
}

BOOST_AUTO_TEST_CASE(or_waits_past_a_failure_for_a_success_as_asio_does) {
  asio::io_context ioc;
  futura::promise<int> failing, later;
  std::variant<int, int> got;
  run_on(ioc, [&]() -> asio::awaitable<void> {
    asio::post(ioc, [&] {
      failing.set_exception(std::domain_error("bad"));
      asio::post(ioc, [&] { later.set_result(8); });
    });
    auto either = failing.get_future() || later.get_future();
    got = co_await std::move(either);
  });
  BOOST_TEST(got.index() == 1u);
  BOOST_TEST(std::get<1>(got) == 8);
}

BOOST_AUTO_TEST_CASE(or_rethrows_when_both_fail) {
  asio::io_context ioc;
  futura::promise<int> first, second;
  std::string what;
  run_on(ioc, [&]() -> asio::awaitable<void> {
    asio::post(ioc, [&] {
      first.set_exception(std::domain_error("first"));
      second.set_exception(std::domain_error("second"));
    });
    auto either = first.get_future() || second.get_future();
    try {
      co_await std::move(either);
    } catch (asio::multiple_exceptions const& e) {  // Asio's rule for ||
      try {
        std::rethrow_exception(e.first_exception());
      } catch (std::domain_error const& first) {
        what = first.what();
      }
    }
  });
  BOOST_TEST(what == "first");
}

BOOST_AUTO_TEST_CASE(and_gives_both_values_and_leaves_out_void) {
  asio::io_context ioc;
  auto count = futura::create_future<int>(ioc);
  auto name = futura::create_future<std::string>(ioc);
  auto tick = futura::create_future<void>(ioc);
  std::tuple<int, std::string> both;
  int alone = 0;
  run_on(ioc, [&]() -> asio::awaitable<void> {
    asio::post(ioc, [&] {
      name.set_result("n");
      count.set_result(2);
      tick.set_result();
    });
    auto pair = count && name;
    both = co_await std::move(pair);
    auto with_void = count && tick;
    alone = co_await std::move(with_void);
  });
  BOOST_TEST(std::get<0>(both) == 2);
  BOOST_TEST(std::get<1>(both) == "n");
  BOOST_TEST(alone == 2);
}

BOOST_AUTO_TEST_CASE(futures_mix_with_awaitables_on_either_side) {
  asio::io_context ioc;
  auto never = futura::create_future<int>(ioc);
  auto ready = futura::create_future<int>(ioc);
  ready.set_result(4);
  std::size_t timer_won = 0;
  int sum = 0;
  run_on(ioc, [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(ioc, 0ms);
    auto race = never || timer.async_wait(asio::use_awaitable);
    timer_won = (co_await std::move(race)).index();
    asio::steady_timer again(ioc, 0ms);
    auto race2 = again.async_wait(asio::use_awaitable) && ready;
    sum = co_await std::move(race2);
  });
  BOOST_TEST(timer_won == 1u);
  BOOST_TEST(never.cancelled());
  BOOST_TEST(sum == 4);
}
