#include <futura/thread_pool_executor.hpp>

#define BOOST_TEST_MODULE thread_pool_executor
#include <boost/test/unit_test.hpp>

#include <futura/errors.hpp>
#include <futura/promise.hpp>

#include <boost/asio/bind_executor.hpp>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

// Items refer to ../shared/PYTHON_SEMANTICS.md: D (submit, map), E (shutdown), F
// (ThreadPoolExecutor configuration). Workers are held on latches, never ordered by sleeps.

using namespace std::chrono_literals;

// Exceptions cross threads here, and their reference counts live in libstdc++, which
// ThreadSanitizer does not see: a test that reads an exception a worker threw makes sure
// the worker has let go of it first (joins the pool), so that the test frees it itself.

namespace {

/// Records what futura reports through set_callback_error_handler while it is alive.
class error_reports {
 public:
  struct report {
    std::string what;
    std::string message;  // the exception's what()
  };
  error_reports() : previous_(futura::set_callback_error_handler(&record)) {
    std::lock_guard lk(mutex_);
    reports_.clear();
  }
  ~error_reports() { futura::set_callback_error_handler(previous_); }
  error_reports(error_reports const&) = delete;
  error_reports& operator=(error_reports const&) = delete;

  std::vector<report> get() const {
    std::lock_guard lk(mutex_);
    return reports_;
  }

 private:
  static void record(std::exception_ptr e, std::string_view what) {
    report r{std::string(what), {}};
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& x) {
      r.message = x.what();
    } catch (...) {
    }
    std::lock_guard lk(mutex_);
    reports_.push_back(std::move(r));
  }
  static inline std::mutex mutex_;
  static inline std::vector<report> reports_;
  futura::callback_error_handler previous_;
};

std::string current_thread_name() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

/// Keeps the calling worker busy until `pool` starts shutting down, whose only outward sign
/// is that submit() refuses work. Lets a test hold workers exactly until shutdown() begins.
void hold_until_shutdown(futura::thread_pool_executor& pool) {
  for (;;) {
    try {
      pool.submit([] {});
    } catch (futura::broken_executor const&) {
      return;
    }
    std::this_thread::sleep_for(100us);  // poll interval, not an ordering device
  }
}

/// Counts its live instances: a capture or argument still alive shows in `alive`.
struct counted {
  static inline std::atomic<int> alive{0};
  counted() { ++alive; }
  counted(counted const&) { ++alive; }
  counted(counted&&) noexcept { ++alive; }
  counted& operator=(counted const&) = default;
  ~counted() { --alive; }
};

template <class T>
bool is_pending(futura::future<T> const& f) {
  return f.state() == futura::future_state::pending;
}

bool message_is(std::exception const& e, std::string_view expected) {
  return e.what() == expected;
}

constexpr std::string_view after_shutdown = "cannot schedule new futures after shutdown";
constexpr std::string_view broken_pool =
    "A thread initializer failed, the thread pool is not usable anymore";

struct point {
  int x;
  int y;
  int sum() const { return x + y; }
};

}  // namespace

// ---------------------------------------------------------------------------------------
// D. submit

// D.18
BOOST_AUTO_TEST_CASE(submit_calls_the_function_with_the_given_arguments) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  auto f =
      pool.submit([](int a, std::string const& b, double c) { return b + std::to_string(a * c); },
                  2, std::string("x="), 1.5);
  BOOST_TEST(f.result() == "x=" + std::to_string(2 * 1.5));

  // Anything std::invoke takes: a member function and its object, a plain function.
  point const p{3, 4};
  BOOST_TEST(pool.submit(&point::sum, p).result() == p.sum());
  BOOST_TEST(pool.submit(&point::y, p).result() == p.y);

  // Arguments are decay-copied; std::ref passes a reference through.
  int target = 0;
  pool.submit([](int& out, int v) { out = v; }, std::ref(target), 42).result();
  BOOST_TEST(target == 42);
}

// D.18
BOOST_AUTO_TEST_CASE(submit_moves_move_only_arguments_and_results) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  auto f = pool.submit([](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); },
                       std::make_unique<int>(41));
  BOOST_TEST(*f.result() == 42);
  std::unique_ptr<int> taken = std::move(f.result());
  BOOST_TEST(*taken == 42);
}

// D.19
BOOST_AUTO_TEST_CASE(an_exception_thrown_by_the_function_is_rethrown_by_result) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  auto f = pool.submit([]() -> int { throw std::out_of_range("worker failed"); });
  BOOST_CHECK_EXCEPTION(f.result(), std::out_of_range,
                        [](auto const& e) { return message_is(e, "worker failed"); });
  BOOST_TEST(f.done());
  BOOST_TEST(!f.cancelled());
  auto e = f.exception();
  BOOST_REQUIRE(e);
  BOOST_CHECK_THROW(std::rethrow_exception(e), std::out_of_range);
  pool.shutdown();
}

// ---------------------------------------------------------------------------------------
// D. map

// D.20
BOOST_AUTO_TEST_CASE(map_submits_every_call_without_being_iterated) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  std::vector<int> const inputs{1, 2, 3, 4, 5};
  std::latch all_called{static_cast<std::ptrdiff_t>(inputs.size())};
  auto results = pool.map(
      [&](int x) {
        all_called.count_down();
        return x;
      },
      inputs);
  all_called.wait();  // would hang if map waited for the caller to iterate
  BOOST_TEST(results.size() == inputs.size());
}

// D.21
BOOST_AUTO_TEST_CASE(map_yields_results_in_input_order_whatever_the_completion_order) {
  constexpr int n = 4;
  futura::thread_pool_executor pool{{.max_workers = n}};
  // Call i finishes only after call i + 1 has: completion order is the reverse of input order.
  std::deque<std::latch> finished;
  for (int i = 0; i <= n; ++i) finished.emplace_back(i == n ? 0 : 1);
  std::mutex m;
  std::vector<int> finish_order;
  auto results = pool.map(
      [&](int i) {
        finished[static_cast<std::size_t>(i) + 1].wait();
        {
          std::lock_guard lk(m);
          finish_order.push_back(i);
        }
        finished[static_cast<std::size_t>(i)].count_down();
        return i * 10;
      },
      std::views::iota(0, n));  // any input range
  std::vector<int> got;
  for (int r : results) got.push_back(r);
  std::vector<int> want;
  for (int i = 0; i < n; ++i) want.push_back(i * 10);
  BOOST_TEST(got == want, boost::test_tools::per_element());
  std::vector<int> reversed;
  for (int i = n - 1; i >= 0; --i) reversed.push_back(i);
  BOOST_TEST(finish_order == reversed, boost::test_tools::per_element());
}

// D.21: several iterables zip, stopping at the shortest. In C++ the caller zips them into
// one range (here pairs over the shorter length); map itself takes one range.
BOOST_AUTO_TEST_CASE(map_over_a_range_of_pairs_plays_the_part_of_several_iterables) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  std::vector<int> const a{1, 2, 3, 4};
  std::vector<int> const b{10, 20, 30};
  std::vector<std::pair<int, int>> zipped;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) zipped.emplace_back(a[i], b[i]);
  std::vector<int> got;
  for (int r : pool.map([](std::pair<int, int> p) { return p.first * p.second; }, zipped))
    got.push_back(r);
  BOOST_TEST(got == (std::vector<int>{10, 40, 90}), boost::test_tools::per_element());
}

// D.22: divmod over [1,1,1,1], [2,3,0,5] gives (0,1), (0,1), then ZeroDivisionError.
BOOST_AUTO_TEST_CASE(map_rethrows_an_exception_at_its_position_after_the_earlier_results) {
  std::vector<std::pair<int, int>> const inputs{{1, 2}, {1, 3}, {1, 0}, {1, 5}};
  auto divmod = [](std::pair<int, int> p) {
    if (p.second == 0) throw std::domain_error("integer division or modulo by zero");
    return std::pair{p.first / p.second, p.first % p.second};
  };
  std::vector<std::pair<int, int>> got;
  std::exception_ptr error;
  std::size_t position = 0;
  {
    futura::thread_pool_executor pool{{.max_workers = 2}};
    auto results = pool.map(divmod, inputs);
    for (auto it = results.begin(); it != results.end(); ++it, ++position) {
      try {
        got.push_back(*it);
      } catch (std::domain_error const&) {
        error = std::current_exception();
        break;
      }
    }
    pool.shutdown();
  }
  BOOST_TEST(got.size() == 2u);
  for (auto const& r : got) BOOST_TEST((r == std::pair{0, 1}));
  BOOST_TEST(position == 2u);
  BOOST_CHECK_EXCEPTION(std::rethrow_exception(error), std::domain_error, [](auto const& e) {
    return message_is(e, "integer division or modulo by zero");
  });
}

// D.23: sleep over [0, 0, 6] with timeout=5 yields None, None, then TimeoutError.
BOOST_AUTO_TEST_CASE(map_with_a_timeout_throws_timeout_error_when_the_next_result_is_late) {
  futura::thread_pool_executor pool{{.max_workers = 3}};
  std::latch release{1};
  auto const timeout = 50ms;
  auto const start = std::chrono::steady_clock::now();
  std::vector<int> got;
  bool timed_out = false;
  {
    auto results = pool.map(
        [&](int x) {
          if (x == 2) release.wait();
          return x;
        },
        std::vector{0, 1, 2}, timeout);
    try {
      for (int r : results) got.push_back(r);
    } catch (futura::timeout_error const&) {
      timed_out = true;
    }
    BOOST_TEST((std::chrono::steady_clock::now() - start >= timeout));
  }
  release.count_down();
  BOOST_TEST(timed_out);
  BOOST_TEST(got == (std::vector<int>{0, 1}), boost::test_tools::per_element());
}

// D.23: the deadline is counted from the map() call, not afresh for each result.
BOOST_AUTO_TEST_CASE(map_counts_its_timeout_from_the_call_not_per_result) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  std::latch release{1};
  auto const timeout = 50ms;
  auto const start = std::chrono::steady_clock::now();
  {
    auto results = pool.map(
        [&](int x) {
          if (x == 1) release.wait();
          return x;
        },
        std::vector{0, 1}, timeout);
    auto it = results.begin();
    BOOST_TEST(*it == 0);
    ++it;
    BOOST_CHECK_THROW(*it, futura::timeout_error);  // waits out the whole timeout
    BOOST_TEST((std::chrono::steady_clock::now() - start >= timeout));
    // Asking again gets no fresh timeout: the deadline has passed, so it throws at once.
    auto const again = std::chrono::steady_clock::now();
    BOOST_CHECK_THROW(*it, futura::timeout_error);
    BOOST_TEST((std::chrono::steady_clock::now() - again < timeout));
  }
  release.count_down();
}

// D.24: CPython's test_executor_map_current_future_cancel.
BOOST_AUTO_TEST_CASE(destroying_the_map_range_after_a_timeout_cancels_the_work_not_started) {
  std::latch stop{1};
  std::mutex m;
  std::vector<std::string> log;
  auto log_n_wait = [&](std::string ident) {
    {
      std::lock_guard lk(m);
      log.push_back(ident + " started");
    }
    stop.wait();
    std::lock_guard lk(m);
    log.push_back(ident + " stopped");
    return ident;
  };
  futura::future<std::string> first;
  {
    futura::thread_pool_executor pool{{.max_workers = 1}};
    first = pool.submit(log_n_wait, std::string("first"));  // saturates the pool
    {
      auto results = pool.map(log_n_wait, std::vector<std::string>{"second", "third"}, 0ms);
      BOOST_CHECK_THROW(*results.begin(), futura::timeout_error);
    }  // "second" cancelled after the timeout, "third" because it was never reached
    stop.count_down();
    BOOST_TEST(first.result() == "first");
  }
  BOOST_TEST(log == (std::vector<std::string>{"first started", "first stopped"}),
             boost::test_tools::per_element());
}

// D.24: leaving a map loop early cancels what has not started.
BOOST_AUTO_TEST_CASE(breaking_out_of_a_map_loop_cancels_the_work_not_yet_started) {
  constexpr int n = 10;
  std::latch release{1};
  std::atomic<int> later_calls{0};
  int first = -1;
  {
    futura::thread_pool_executor pool{{.max_workers = 1}};
    for (int r : pool.map(
             [&](int x) {
               if (x > 0) {
                 ++later_calls;
                 release.wait();  // holds the only worker: the rest stay queued
               }
               return x;
             },
             std::views::iota(0, n))) {
      first = r;
      break;
    }
    release.count_down();
  }
  BOOST_TEST(first == 0);
  // At most the call the worker had already taken when the loop ended; a map that did not
  // cancel would have run all n - 1.
  BOOST_TEST(later_calls.load() <= 1);
}

// D.24: an exception out of a map loop cancels what has not started.
BOOST_AUTO_TEST_CASE(an_exception_out_of_a_map_loop_cancels_the_work_not_yet_started) {
  constexpr int n = 10;
  std::latch release{1};
  std::atomic<int> later_calls{0};
  std::vector<int> got;
  std::exception_ptr error;
  {
    futura::thread_pool_executor pool{{.max_workers = 1}};
    try {
      for (int r : pool.map(
               [&](int x) {
                 if (x == 1) throw std::runtime_error("failed at 1");
                 if (x > 1) {
                   ++later_calls;
                   release.wait();
                 }
                 return x;
               },
               std::views::iota(0, n)))
        got.push_back(r);
    } catch (std::runtime_error const&) {
      error = std::current_exception();
    }
    release.count_down();
  }
  BOOST_TEST(got == std::vector<int>{0}, boost::test_tools::per_element());
  BOOST_TEST(later_calls.load() <= 1);
  BOOST_CHECK_EXCEPTION(std::rethrow_exception(error), std::runtime_error,
                        [](auto const& e) { return message_is(e, "failed at 1"); });
}

// D.24
BOOST_AUTO_TEST_CASE(map_after_shutdown_throws_broken_executor) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  pool.shutdown();
  BOOST_CHECK_EXCEPTION(pool.map([](int x) { return x; }, std::vector{1, 2}),
                        futura::broken_executor,
                        [](auto const& e) { return message_is(e, after_shutdown); });
}

// D.25
BOOST_AUTO_TEST_CASE(captures_and_arguments_are_destroyed_before_the_future_completes) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  BOOST_REQUIRE(counted::alive == 0);
  auto capture = std::make_shared<int>(1);
  std::weak_ptr<int> watch = capture;

  auto ok = pool.submit([c = counted{}, p = std::move(capture)](counted const&) { return *p; },
                        counted{});
  BOOST_TEST(ok.result() == 1);
  BOOST_TEST(counted::alive == 0);
  BOOST_TEST(watch.expired());

  auto failed =
      pool.submit([c = counted{}](counted) -> int { throw std::runtime_error("x"); }, counted{});
  BOOST_CHECK_THROW(failed.result(), std::runtime_error);
  BOOST_TEST(counted::alive == 0);

  auto results = pool.map([c = counted{}](int x) { return x; }, std::vector{1, 2, 3});
  int sum = 0;
  for (int r : results) sum += r;
  BOOST_TEST(sum == 6);
  BOOST_TEST(counted::alive == 0);
}

// ---------------------------------------------------------------------------------------
// Cancelling pool futures

BOOST_AUTO_TEST_CASE(cancelling_pending_work_means_the_function_never_runs) {
  std::latch release{1};
  std::latch started{1};
  std::atomic<bool> ran{false};
  auto capture = std::make_shared<int>(0);
  std::weak_ptr<int> watch = capture;
  futura::future<void> pending;
  {
    futura::thread_pool_executor pool{{.max_workers = 1}};
    auto busy = pool.submit([&] {
      started.count_down();
      release.wait();
    });
    pending = pool.submit([&ran, c = std::move(capture)] { ran = true; });
    started.wait();
    BOOST_TEST(is_pending(pending));
    BOOST_TEST(pending.cancel());
    BOOST_TEST(pending.cancelled());
    release.count_down();
    busy.result();
  }
  BOOST_TEST(!ran);
  BOOST_CHECK_THROW(pending.result(), futura::cancelled_error);
  BOOST_TEST(watch.expired());  // the pool dropped the call unrun
}

BOOST_AUTO_TEST_CASE(running_work_cannot_be_cancelled) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  std::latch started{1};
  std::latch release{1};
  auto f = pool.submit([&] {
    started.count_down();
    release.wait();
    return 7;
  });
  started.wait();
  BOOST_TEST(f.running());
  BOOST_TEST(!f.cancel());
  BOOST_TEST(f.running());
  release.count_down();
  BOOST_TEST(f.result() == 7);
  BOOST_TEST(!f.cancelled());
}

// ---------------------------------------------------------------------------------------
// Callbacks of pool futures

// C.17
BOOST_AUTO_TEST_CASE(callbacks_of_pool_futures_run_on_the_worker_thread) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  std::latch callback_added{1};
  std::latch callback_ran{1};
  std::thread::id callback_thread;
  auto f = pool.submit([&] {
    callback_added.wait();
    return std::this_thread::get_id();
  });
  f.add_done_callback([&](futura::future<std::thread::id> const& done) {
    BOOST_TEST(done.done());
    callback_thread = std::this_thread::get_id();
    callback_ran.count_down();
  });
  callback_added.count_down();
  auto const worker = f.result();
  callback_ran.wait();
  BOOST_TEST((callback_thread == worker));
  BOOST_TEST((callback_thread != std::this_thread::get_id()));
}

// C.15, C.17
BOOST_AUTO_TEST_CASE(a_throwing_callback_is_reported_and_does_not_kill_the_worker) {
  error_reports errors;
  futura::thread_pool_executor pool{{.max_workers = 1}};
  std::latch callbacks_added{1};
  std::atomic<int> later_callback_runs{0};
  auto f = pool.submit([&] {
    callbacks_added.wait();
    return std::this_thread::get_id();
  });
  f.add_done_callback([](auto const&) { throw std::runtime_error("callback failed"); });
  f.add_done_callback([&](auto const&) { ++later_callback_runs; });
  callbacks_added.count_down();
  auto const worker = f.result();
  // The same (only) worker still serves the queue, after the callbacks above ran.
  auto g = pool.submit([] { return std::this_thread::get_id(); });
  BOOST_TEST((g.result() == worker));
  BOOST_TEST(later_callback_runs == 1);
  auto const reports = errors.get();
  BOOST_REQUIRE(reports.size() == 1u);
  BOOST_TEST(reports[0].what.starts_with("exception calling callback for <Future at 0x"));
  BOOST_TEST(reports[0].message == "callback failed");
}

// ---------------------------------------------------------------------------------------
// E. Shutdown

// E.26
BOOST_AUTO_TEST_CASE(submit_after_shutdown_throws_broken_executor) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  pool.shutdown();
  BOOST_CHECK_EXCEPTION(pool.submit([] { return 1; }), futura::broken_executor,
                        [](auto const& e) { return message_is(e, after_shutdown); });
}

// E.26
BOOST_AUTO_TEST_CASE(shutdown_may_be_called_more_than_once) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  auto f = pool.submit([] { return 1; });
  pool.shutdown(false);
  pool.shutdown(true);
  pool.shutdown(true, true);
  pool.shutdown(false);
  BOOST_TEST(f.result() == 1);
  BOOST_CHECK_THROW(pool.submit([] {}), futura::broken_executor);
}

// E.27: 50 tasks, then shutdown(wait=True), then every result is there.
BOOST_AUTO_TEST_CASE(shutdown_with_wait_returns_once_queued_and_running_work_is_done) {
  constexpr int workers = 2;
  constexpr int n = 50;
  futura::thread_pool_executor pool{{.max_workers = workers}};
  std::latch started{workers};
  std::vector<futura::future<int>> fs;
  for (int i = 0; i < n; ++i)
    fs.push_back(pool.submit([&, i] {
      if (i < workers) {
        started.count_down();
        hold_until_shutdown(pool);  // busy until shutdown() has begun
      }
      return i;
    }));
  started.wait();
  pool.shutdown(true);
  for (int i = 0; i < n; ++i) {
    BOOST_TEST(fs[i].done());  // at once: shutdown waited for every one of them
    BOOST_TEST(fs[i].result() == i);
  }
}

// E.28
BOOST_AUTO_TEST_CASE(shutdown_without_wait_returns_at_once_and_the_work_still_completes) {
  constexpr int n = 6;
  std::latch started{2};
  std::latch release{1};
  std::vector<futura::future<int>> fs;
  {
    futura::thread_pool_executor pool{{.max_workers = 2}};
    for (int i = 0; i < n; ++i)
      fs.push_back(pool.submit([&, i] {
        if (i < 2) {
          started.count_down();
          release.wait();
        }
        return i;
      }));
    started.wait();
    pool.shutdown(false);  // the workers are blocked: shutdown(true) would hang here
    BOOST_CHECK_THROW(pool.submit([] {}), futura::broken_executor);
    for (auto const& f : fs) BOOST_TEST(!f.done());
    release.count_down();
    for (int i = 0; i < n; ++i) BOOST_TEST(fs[i].result() == i);
  }  // the workers leave once the queue is drained: the destructor can join them
}

// E.29: with 50 tasks and 5 workers, the ones not started are cancelled.
BOOST_AUTO_TEST_CASE(shutdown_with_cancel_futures_cancels_the_work_not_yet_started) {
  constexpr int workers = 5;
  constexpr int n = 50;
  futura::thread_pool_executor pool{{.max_workers = workers}};
  std::latch started{workers};
  std::atomic<int> calls{0};
  std::vector<futura::future<int>> fs;
  for (int i = 0; i < n; ++i)
    fs.push_back(pool.submit([&, i] {
      ++calls;
      if (i < workers) {
        started.count_down();
        hold_until_shutdown(pool);
      }
      return i;
    }));
  started.wait();
  pool.shutdown(true, true);
  int cancelled = 0;
  int finished = 0;
  for (auto const& f : fs) {
    BOOST_TEST(f.done());
    if (f.cancelled()) {
      ++cancelled;
      BOOST_CHECK_THROW(f.result(), futura::cancelled_error);
    } else {
      ++finished;
      BOOST_TEST(!f.exception());
    }
  }
  BOOST_TEST(finished == workers);
  BOOST_TEST(cancelled == n - workers);
  BOOST_TEST(calls == workers);
}

// E.29: shutdown(wait=False, cancel_futures=True) cancels at once, while the workers are
// still busy; the running calls complete normally afterwards.
static void check_shutdown_without_wait_with_cancel_futures(
    std::function<void(futura::thread_pool_executor&)> const& shut_down) {
  constexpr int n = 10;
  std::latch started{2};
  std::latch release{1};
  std::atomic<int> calls{0};
  std::vector<futura::future<int>> fs;
  {
    futura::thread_pool_executor pool{{.max_workers = 2}};
    for (int i = 0; i < n; ++i)
      fs.push_back(pool.submit([&, i] {
        ++calls;
        if (i < 2) {
          started.count_down();
          release.wait();
        }
        return i;
      }));
    started.wait();
    shut_down(pool);
    for (int i = 2; i < n; ++i) BOOST_TEST(fs[i].cancelled());
    BOOST_TEST(fs[0].running());
    BOOST_TEST(fs[1].running());
    release.count_down();
  }
  BOOST_TEST(fs[0].result() == 0);
  BOOST_TEST(fs[1].result() == 1);
  BOOST_TEST(calls == 2);
}

BOOST_AUTO_TEST_CASE(shutdown_without_wait_with_cancel_futures_cancels_at_once) {
  check_shutdown_without_wait_with_cancel_futures(
      [](futura::thread_pool_executor& pool) { pool.shutdown(false, true); });
}

// Python's keywords, by name: the same call, readable at the call site.
BOOST_AUTO_TEST_CASE(shutdown_takes_its_options_by_name) {
  check_shutdown_without_wait_with_cancel_futures([](futura::thread_pool_executor& pool) {
    pool.shutdown({.wait = false, .cancel_futures = true});
  });
}

// E.30: submit, cancel, then shutdown(wait=True) must not hang.
BOOST_AUTO_TEST_CASE(a_cancelled_future_does_not_hang_shutdown) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  std::latch release{1};
  std::atomic<bool> ran{false};
  auto busy = pool.submit([&] { release.wait(); });
  auto f = pool.submit([&] { ran = true; });
  BOOST_TEST(f.cancel());
  release.count_down();
  pool.shutdown(true);
  BOOST_TEST(f.cancelled());
  BOOST_TEST(busy.done());
  BOOST_TEST(!ran);
}

// E.30: leaving a `with` block by an exception shuts down with wait=True and keeps the
// exception.
BOOST_AUTO_TEST_CASE(leaving_the_scope_by_an_exception_waits_for_the_work_and_keeps_it) {
  futura::future<int> f;
  std::latch started{1};
  try {
    futura::thread_pool_executor pool{{.max_workers = 1}};
    f = pool.submit([&] {
      started.count_down();
      hold_until_shutdown(pool);
      return 5;
    });
    started.wait();
    throw std::logic_error("body failed");
  } catch (std::logic_error const& e) {
    BOOST_TEST(e.what() == std::string("body failed"));
  }
  BOOST_TEST(f.done());
  BOOST_TEST(f.result() == 5);
}

// E.31: destroying the executor finishes the submitted work and stops the threads.
BOOST_AUTO_TEST_CASE(the_destructor_waits_for_the_submitted_work_like_shutdown_with_wait) {
  constexpr int n = 20;
  std::vector<futura::future<int>> fs;
  std::latch started{1};
  {
    futura::thread_pool_executor pool{{.max_workers = 2}};
    for (int i = 0; i < n; ++i)
      fs.push_back(pool.submit([&, i] {
        if (i == 0) {
          started.count_down();
          hold_until_shutdown(pool);  // until the destructor has begun
        }
        return i;
      }));
    started.wait();
  }
  for (int i = 0; i < n; ++i) {
    BOOST_TEST(fs[i].done());
    BOOST_TEST(fs[i].result() == i);
  }
}

// E.32 (quirk not reproduced): a future cancelled by shutdown is done, like any cancelled one.
BOOST_AUTO_TEST_CASE(a_future_cancelled_by_shutdown_is_done_and_cancelled) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  std::latch started{1};
  auto busy = pool.submit([&] {
    started.count_down();
    hold_until_shutdown(pool);
  });
  auto queued = pool.submit([] { return 1; });
  started.wait();
  pool.shutdown(true, true);
  BOOST_TEST(queued.done());
  BOOST_TEST(queued.cancelled());
  BOOST_TEST(queued.cancel());  // cancel() of a cancelled future stays true
  BOOST_CHECK_THROW(queued.result(), futura::cancelled_error);
  BOOST_TEST(busy.done());
}

BOOST_AUTO_TEST_CASE(shutdown_with_wait_from_one_of_its_workers_throws_invalid_state_error) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  auto waited = pool.submit([&] {
    try {
      pool.shutdown(true);
    } catch (futura::invalid_state_error const&) {
      return true;
    }
    return false;
  });
  BOOST_TEST(waited.result());
  // The pool is shut down all the same, as Python's would be.
  BOOST_CHECK_THROW(pool.submit([] {}), futura::broken_executor);
}

BOOST_AUTO_TEST_CASE(shutdown_without_wait_from_one_of_its_workers_is_allowed) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  auto f = pool.submit([&] {
    pool.shutdown(false);
    return 3;
  });
  BOOST_TEST(f.result() == 3);
  BOOST_CHECK_THROW(pool.submit([] {}), futura::broken_executor);
}

// ---------------------------------------------------------------------------------------
// F. Configuration

// F.33
BOOST_AUTO_TEST_CASE(max_workers_of_zero_or_less_throws_invalid_argument) {
  for (int bad : {0, -1}) {
    BOOST_CHECK_EXCEPTION(
        futura::thread_pool_executor({.max_workers = bad}), std::invalid_argument,
        [](auto const& e) { return message_is(e, "max_workers must be greater than 0"); });
  }
}

// F.33
BOOST_AUTO_TEST_CASE(the_default_max_workers_is_the_smaller_of_32_and_cores_plus_4) {
  futura::thread_pool_executor pool;
  auto const cores = std::max(1u, std::thread::hardware_concurrency());
  BOOST_TEST(pool.max_workers() == std::min<std::size_t>(32, cores + 4));
  futura::thread_pool_executor three{{.max_workers = 3}};
  BOOST_TEST(three.max_workers() == 3u);
}

// F.34
BOOST_AUTO_TEST_CASE(the_initializer_runs_once_per_worker_before_any_task) {
  constexpr int workers = 3;
  static thread_local bool initialized = false;
  std::atomic<int> calls{0};
  {
    futura::thread_pool_executor pool{{.max_workers = workers, .initializer = [&] {
                                         initialized = true;
                                         ++calls;
                                       }}};
    std::latch all_running{workers};  // one call per worker
    std::vector<futura::future<bool>> fs;
    for (int i = 0; i < workers; ++i)
      fs.push_back(pool.submit([&] {
        all_running.arrive_and_wait();
        return initialized;
      }));
    for (auto const& f : fs) BOOST_TEST(f.result());
  }
  BOOST_TEST(calls == workers);
}

// F.35
BOOST_AUTO_TEST_CASE(a_throwing_initializer_breaks_the_pool) {
  error_reports errors;
  constexpr int workers = 2;
  std::latch submitted{1};
  std::atomic<bool> ran{false};
  futura::future<void> queued;  // outlives the pool
  {
    futura::thread_pool_executor pool{{.max_workers = workers, .initializer = [&] {
                                         submitted.wait();  // so that work is queued first
                                         throw std::runtime_error("initializer failed");
                                       }}};
    queued = pool.submit([&] { ran = true; });
    submitted.count_down();
    BOOST_CHECK_EXCEPTION(queued.result(), futura::broken_thread_pool,
                          [](auto const& e) { return message_is(e, broken_pool); });
    BOOST_CHECK_EXCEPTION(pool.submit([&] { ran = true; }), futura::broken_thread_pool,
                          [](auto const& e) { return message_is(e, broken_pool); });
    BOOST_CHECK_THROW(pool.map([](int x) { return x; }, std::vector{1}),
                      futura::broken_thread_pool);
  }
  BOOST_TEST(!ran);
  auto const reports = errors.get();
  BOOST_TEST(reports.size() == static_cast<std::size_t>(workers));  // one per worker
  for (auto const& r : reports) {
    BOOST_TEST(r.what == "Exception in initializer:");
    BOOST_TEST(r.message == "initializer failed");
  }
}

// F.36: sequential work reuses the idle worker.
BOOST_AUTO_TEST_CASE(an_idle_worker_is_reused_for_sequential_work) {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  auto const first = pool.submit([] { return std::this_thread::get_id(); }).result();
  for (int i = 0; i < 3; ++i)
    BOOST_TEST((pool.submit([] { return std::this_thread::get_id(); }).result() == first));
  BOOST_TEST(pool.max_workers() == 1u);
}

// F.37: 8 blocking tasks on a 3-worker pool run 3 at a time, on 3 threads.
BOOST_AUTO_TEST_CASE(the_pool_never_runs_more_than_max_workers_calls_at_once) {
  constexpr int workers = 3;
  constexpr int n = 8;
  futura::thread_pool_executor pool{{.max_workers = workers}};
  std::latch started{workers};
  std::latch release{1};
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::mutex m;
  std::set<std::thread::id> threads;
  std::vector<futura::future<void>> fs;
  for (int i = 0; i < n; ++i)
    fs.push_back(pool.submit([&, i] {
      int const now = ++running;
      for (int seen = most; now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      {
        std::lock_guard lk(m);
        threads.insert(std::this_thread::get_id());
      }
      if (i < workers) {
        started.count_down();
        release.wait();
      }
      --running;
    }));
  started.wait();
  for (int i = workers; i < n; ++i) BOOST_TEST(is_pending(fs[i]));
  release.count_down();
  for (auto const& f : fs) f.result();
  BOOST_TEST(most == workers);
  BOOST_TEST(threads.size() == static_cast<std::size_t>(workers));
}

// F.37: names are "<prefix>_<n>".
BOOST_AUTO_TEST_CASE(worker_threads_are_named_prefix_underscore_index) {
  constexpr int workers = 3;
  std::string const prefix = "tp";
  futura::thread_pool_executor pool{{.max_workers = workers, .thread_name_prefix = prefix}};
  std::latch all_running{workers};
  std::vector<futura::future<std::string>> fs;
  for (int i = 0; i < workers; ++i)
    fs.push_back(pool.submit([&] {
      all_running.arrive_and_wait();  // one call per worker
      return current_thread_name();
    }));
  std::set<std::string> names;
  for (auto const& f : fs) names.insert(f.result());
  std::set<std::string> want;
  for (int i = 0; i < workers; ++i) want.insert(prefix + "_" + std::to_string(i));
  BOOST_TEST(names == want, boost::test_tools::per_element());
}

// F.37: without a prefix, each pool gets one of its own (Python: "ThreadPoolExecutor-<k>").
BOOST_AUTO_TEST_CASE(pools_without_a_prefix_get_distinct_default_names) {
  futura::thread_pool_executor a{{.max_workers = 1}};
  futura::thread_pool_executor b{{.max_workers = 1}};
  auto const name_a = a.submit(current_thread_name).result();
  auto const name_b = b.submit(current_thread_name).result();
  BOOST_TEST(name_a.ends_with("_0"));
  BOOST_TEST(name_b.ends_with("_0"));
  BOOST_TEST(name_a.starts_with("futura-"));
  BOOST_TEST(name_a != name_b);
}

// ---------------------------------------------------------------------------------------
// The pool's Asio executor

BOOST_AUTO_TEST_CASE(work_posted_to_the_pools_executor_runs_on_its_workers) {
  futura::thread_pool_executor pool{{.max_workers = 1, .thread_name_prefix = "ex"}};
  std::latch done{1};
  std::string name;
  boost::asio::post(pool.get_executor(), [&] {
    name = current_thread_name();
    done.count_down();
  });
  done.wait();
  BOOST_TEST(name == "ex_0");
}

// Issue 8: the destructor never hangs on work that cannot finish and never terminates.
BOOST_AUTO_TEST_CASE(
    the_destructor_does_not_wait_for_a_handler_parked_on_a_future_nobody_completes) {
  futura::promise<int> never;  // outlives the pool
  auto const token = std::make_shared<int>(0);
  {
    futura::thread_pool_executor pool{{.max_workers = 2}};
    never.get_future().async_wait(
        boost::asio::bind_executor(pool.get_executor(), [token](std::exception_ptr, int) {}));
    auto f = pool.submit([] { return 1; });
    BOOST_TEST(f.result() == 1);
  }  // returns once the submitted work is done; the parked handler is destroyed uncalled
  BOOST_TEST(token.use_count() == 1);
}

BOOST_AUTO_TEST_CASE(dropping_the_last_owner_inside_one_of_its_own_tasks_does_not_terminate) {
  auto pool =
      std::make_shared<futura::thread_pool_executor>(futura::thread_pool_options{.max_workers = 2});
  std::latch go{1};
  // The task's capture is the last owner by the time it is destroyed, on a worker.
  auto f = pool->submit([owner = pool, &go] {
    go.wait();
    return 1;
  });
  auto queued = pool->submit([] { return 2; });
  pool.reset();
  go.count_down();
  BOOST_TEST(f.result() == 1);
  BOOST_TEST(queued.result() == 2);  // submitted work still runs
}

// Issue 9: the queued work is recorded per submitting thread; shutdown(cancel_futures)
// still finds all of it, from every thread, in each thread's submission order.
BOOST_AUTO_TEST_CASE(cancel_futures_finds_the_queued_work_of_every_submitting_thread) {
  constexpr int submitters = 6;
  constexpr int per_thread = 300;  // more than a log's first chunk
  std::latch started{1};
  std::latch release{1};
  std::vector<futura::future<int>> fs(submitters * per_thread);
  std::vector<std::vector<int>> cancel_order(submitters);
  std::atomic<int> ran{0};
  {
    futura::thread_pool_executor pool{{.max_workers = 1}};
    auto blocker = pool.submit([&] {
      started.count_down();
      release.wait();
    });
    started.wait();  // the only worker is busy: everything below stays queued
    {
      std::vector<std::jthread> threads;
      for (int t = 0; t < submitters; ++t)
        threads.emplace_back([&, t] {
          for (int i = 0; i < per_thread; ++i) {
            auto f = pool.submit([&ran, i] { return ++ran, i; });
            // Callbacks run in the thread that cancels: no lock needed per vector.
            f.add_done_callback([&order = cancel_order[t], i] { order.push_back(i); });
            fs[t * per_thread + i] = std::move(f);
          }
        });
    }
    pool.shutdown(false, true);
    for (auto const& f : fs) BOOST_TEST(f.cancelled());
    release.count_down();
    blocker.result();
  }
  BOOST_TEST(ran.load() == 0);
  for (auto const& order : cancel_order) {
    BOOST_TEST(order.size() == static_cast<std::size_t>(per_thread));
    BOOST_TEST(std::is_sorted(order.begin(), order.end()));
  }
}

// Threads come and go: each short-lived submitter's work is counted, and shutdown(true)
// waits for exactly that work.
BOOST_AUTO_TEST_CASE(work_submitted_by_threads_that_ended_is_waited_for) {
  std::atomic<int> done{0};
  std::vector<futura::future<int>> fs;
  std::mutex m;
  {
    futura::thread_pool_executor pool{{.max_workers = 2}};
    for (int round = 0; round < 20; ++round) {
      std::vector<std::jthread> threads;
      for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
          for (int i = 0; i < 10; ++i) {
            auto f = pool.submit([&done, t, i] { return ++done, t * 10 + i; });
            std::lock_guard lk(m);
            fs.push_back(std::move(f));
          }
        });
    }
    pool.shutdown(true);
    BOOST_TEST(done.load() == 20 * 4 * 10);  // waited for every one
  }
  long sum = 0;
  for (auto const& f : fs) sum += f.result();
  BOOST_TEST(sum == 20 * (39 * 40 / 2));  // each round: t * 10 + i covers 0..39
}

// A thread that submits to two pools keeps a log in each.
BOOST_AUTO_TEST_CASE(one_thread_submitting_to_two_pools_alternately) {
  futura::thread_pool_executor a{{.max_workers = 1}}, b{{.max_workers = 1}};
  long sum = 0;
  for (int i = 0; i < 100; ++i) {
    auto fa = a.submit([i] { return i; });
    auto fb = b.submit([i] { return 2 * i; });
    sum += fa.result() + fb.result();
  }
  BOOST_TEST(sum == 3 * (99 * 100 / 2));
}
