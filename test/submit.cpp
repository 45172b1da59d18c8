#include <futura/submit.hpp>

#define BOOST_TEST_MODULE submit
#include <boost/test/unit_test.hpp>

#include <futura/errors.hpp>
#include <futura/thread_pool_executor.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// futura::submit is executor.submit / loop.run_in_executor on any Asio executor. Items
// refer to ../shared/PYTHON_SEMANTICS.md (D: submit, P.83-84: run_in_executor).

namespace {

/// Counts its live instances: a capture or argument still alive shows in `alive`.
struct counted {
  static inline std::atomic<int> alive{0};
  counted() { ++alive; }
  counted(counted const&) { ++alive; }
  counted(counted&&) noexcept { ++alive; }
  ~counted() { --alive; }
};

}  // namespace

// D.18, P.83
BOOST_AUTO_TEST_CASE(submit_on_an_io_context_runs_the_call_when_the_context_runs) {
  boost::asio::io_context io;
  std::thread::id ran_on;
  auto f = futura::submit(
      io.get_executor(),
      [&](int a, std::string const& b) {
        ran_on = std::this_thread::get_id();
        return b + std::to_string(a);
      },
      7, std::string("n="));
  BOOST_TEST(!f.done());  // posted, never run inline
  BOOST_TEST(!f.running());
  io.run();
  BOOST_TEST(f.done());
  BOOST_TEST(f.result() == "n=7");
  BOOST_TEST((ran_on == std::this_thread::get_id()));  // the thread that ran the context
}

// D.19, P.83
BOOST_AUTO_TEST_CASE(an_exception_thrown_by_the_call_lands_in_the_future) {
  boost::asio::io_context io;
  auto f = futura::submit(io.get_executor(), []() -> int { throw std::range_error("bad"); });
  BOOST_TEST(io.run() == 1u);  // the exception did not escape run()
  BOOST_CHECK_EXCEPTION(f.result(), std::range_error,
                        [](auto const& e) { return e.what() == std::string("bad"); });
  BOOST_TEST(!f.cancelled());
}

// P.84: a future cancelled before its call starts means the call never runs.
BOOST_AUTO_TEST_CASE(cancelling_before_the_context_runs_means_the_call_never_runs) {
  boost::asio::io_context io;
  bool ran = false;
  auto f = futura::submit(io.get_executor(), [&] { ran = true; });
  BOOST_TEST(f.cancel());
  io.run();
  BOOST_TEST(!ran);
  BOOST_TEST(f.cancelled());
  BOOST_CHECK_THROW(f.result(), futura::cancelled_error);
}

BOOST_AUTO_TEST_CASE(an_io_context_destroyed_without_running_gives_broken_promise) {
  futura::future<int> f;
  bool ran = false;
  auto capture = std::make_shared<int>(1);
  std::weak_ptr<int> watch = capture;
  {
    boost::asio::io_context io;
    f = futura::submit(io.get_executor(), [&ran, c = std::move(capture)] {
      ran = true;
      return *c;
    });
  }
  BOOST_TEST(f.done());  // nobody waits forever
  BOOST_CHECK_THROW(f.result(), futura::broken_promise);
  BOOST_TEST(!ran);
  BOOST_TEST(watch.expired());
}

BOOST_AUTO_TEST_CASE(a_thread_blocked_on_the_result_is_woken_by_broken_promise) {
  futura::future<void> f;
  std::latch waiting{1};
  std::thread waiter;
  bool broken = false;
  {
    boost::asio::io_context io;
    f = futura::submit(io.get_executor(), [] {});
    waiter = std::thread([&] {
      waiting.count_down();
      try {
        f.result();
      } catch (futura::broken_promise const&) {
        broken = true;
      }
    });
    waiting.wait();
  }  // dropped unrun, whether the waiter has parked yet or not
  waiter.join();
  BOOST_TEST(broken);
}

// D.18: asio::thread_pool, like Python's executor, runs the call on one of its threads.
BOOST_AUTO_TEST_CASE(submit_on_an_asio_thread_pool_runs_the_call_on_a_pool_thread) {
  boost::asio::thread_pool pool{2};
  std::vector<futura::future<std::thread::id>> fs;
  for (int i = 0; i < 4; ++i)
    fs.push_back(futura::submit(pool.get_executor(), [] { return std::this_thread::get_id(); }));
  for (auto const& f : fs) BOOST_TEST((f.result() != std::this_thread::get_id()));
  pool.join();
}

// D.18
BOOST_AUTO_TEST_CASE(submit_passes_move_only_arguments_and_results) {
  boost::asio::thread_pool pool{1};
  auto f = futura::submit(
      pool.get_executor(), [](std::unique_ptr<int> p) { return std::make_unique<int>(*p * 2); },
      std::make_unique<int>(21));
  BOOST_TEST(*f.result() == 42);
  pool.join();
}

// D.18: a reference is passed only when asked for with std::ref, as with std::thread.
BOOST_AUTO_TEST_CASE(arguments_are_copied_unless_passed_with_std_ref) {
  boost::asio::io_context io;
  int value = 1;
  auto copied = futura::submit(
      io.get_executor(), [](int v) { return v; }, value);
  auto referenced = futura::submit(
      io.get_executor(), [](int& v) { return ++v; }, std::ref(value));
  value = 10;
  io.run();
  BOOST_TEST(copied.result() == 1);
  BOOST_TEST(referenced.result() == 11);
  BOOST_TEST(value == 11);
}

// D.18: a function returning an rvalue reference (here a data member through a pointer)
// gives a future of the value: the reference would point into the destroyed call.
BOOST_AUTO_TEST_CASE(a_call_returning_an_rvalue_reference_gives_a_future_of_the_value) {
  struct point {
    int x;
  };
  boost::asio::io_context io;
  auto f = futura::submit(io.get_executor(), &point::x, point{5});
  static_assert(std::is_same_v<decltype(f), futura::future<int>>);
  io.run();
  BOOST_TEST(f.result() == 5);
}

// D.25
BOOST_AUTO_TEST_CASE(captures_and_arguments_are_destroyed_before_the_future_completes) {
  BOOST_REQUIRE(counted::alive == 0);
  boost::asio::thread_pool pool{1};
  auto ok = futura::submit(
      pool.get_executor(), [c = counted{}](counted const&) { return 1; }, counted{});
  BOOST_TEST(ok.result() == 1);
  BOOST_TEST(counted::alive == 0);

  auto failed = futura::submit(
      pool.get_executor(),
      [c = counted{}](counted const&) -> int { throw std::runtime_error("x"); }, counted{});
  BOOST_CHECK_THROW(failed.result(), std::runtime_error);
  BOOST_TEST(counted::alive == 0);
  pool.join();
}

// Any Asio executor: a strand, a type-erased any_io_executor, the futura pool's executor.
BOOST_AUTO_TEST_CASE(submit_accepts_any_asio_executor) {
  boost::asio::io_context io;
  auto on_strand = futura::submit(boost::asio::make_strand(io), [] { return 1; });
  boost::asio::any_io_executor any = io.get_executor();
  auto on_any = futura::submit(any, [] { return 2; });
  io.run();
  BOOST_TEST(on_strand.result() == 1);
  BOOST_TEST(on_any.result() == 2);

  futura::thread_pool_executor pool{{.max_workers = 1, .thread_name_prefix = "sub"}};
  auto on_pool = futura::submit(pool.get_executor(), [] { return 3; });
  BOOST_TEST(on_pool.result() == 3);
}

// C.17: a callback added before completion runs in the thread that ran the call.
BOOST_AUTO_TEST_CASE(callbacks_run_on_the_thread_that_ran_the_call) {
  boost::asio::thread_pool pool{1};
  std::latch callback_added{1};
  std::latch callback_ran{1};
  std::thread::id callback_thread;
  auto f = futura::submit(pool.get_executor(), [&] {
    callback_added.wait();
    return std::this_thread::get_id();
  });
  f.add_done_callback([&] {
    callback_thread = std::this_thread::get_id();
    callback_ran.count_down();
  });
  callback_added.count_down();
  auto const worker = f.result();
  callback_ran.wait();
  BOOST_TEST((callback_thread == worker));
  pool.join();
}

// A call already running cannot be cancelled; its value still arrives.
BOOST_AUTO_TEST_CASE(a_running_call_cannot_be_cancelled) {
  boost::asio::thread_pool pool{1};
  std::latch started{1};
  std::latch release{1};
  auto f = futura::submit(pool.get_executor(), [&] {
    started.count_down();
    release.wait();
    return 9;
  });
  started.wait();
  BOOST_TEST(f.running());
  BOOST_TEST(!f.cancel());
  release.count_down();
  BOOST_TEST(f.result() == 9);
  pool.join();
}
