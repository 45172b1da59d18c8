// Racing, teardown and model tests: what must stay true under every interleaving, at every
// teardown point, and for every sequence of operations. Sized for CI (seconds in the
// normal build, less under the sanitizers); FUTURA_STRESS_SCALE=N multiplies every count
// for long runs. Each test prints what it ran (--log_level=message).
#include <futura/futura.hpp>

#define BOOST_TEST_MODULE stress
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <latch>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test_support::counted;

namespace {

using test_support::stress_scaled;

std::uint64_t seed_for(char const* what) {
  if (char const* s = std::getenv("FUTURA_STRESS_SEED")) return std::strtoull(s, nullptr, 10);
  auto const seed =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  BOOST_TEST_MESSAGE(what << ": seed " << seed << " (FUTURA_STRESS_SEED=" << seed
                          << " replays it)");
  return seed;
}

}  // namespace

// ---- racing --------------------------------------------------------------------------
//
// Fresh promise/future pairs, hammered by several threads at once with every operation a
// future has. Whatever the interleaving: exactly one completion wins, every callback that
// was not removed runs exactly once, no value is leaked.

namespace {

constexpr int racers = 4;
constexpr int ops_per_racer = 8;

/// What one thread did to one future in one round.
struct racer_log {
  int set_value = 0, set_error = 0;
  std::array<futura::callback_id, ops_per_racer> ids{};
  std::array<std::size_t, ops_per_racer> removed{};  // per callback: what remove returned
  int callbacks = 0;
};

}  // namespace

BOOST_AUTO_TEST_CASE(racing_completions_callbacks_waits_and_drops_keep_every_promise) {
  long const rounds = stress_scaled(20000);
  std::atomic<long> ops{0};
  std::array<racer_log, racers> logs;
  // Callback counters: racer, slot.
  std::array<std::array<std::atomic<int>, ops_per_racer>, racers> runs{};
  std::optional<futura::promise<counted>> promise;
  futura::future<counted> shared;
  std::barrier sync(racers + 1);
  auto const base_seed = seed_for("racing");

  auto racer = [&](int me) {
    std::mt19937_64 rng(base_seed + static_cast<std::uint64_t>(me));
    for (long round = 0; round < rounds; ++round) {
      sync.arrive_and_wait();  // the round's future is ready
      auto& log = logs[static_cast<std::size_t>(me)];
      log = {};
      futura::future<counted> f = shared;  // a handle of our own, dropped at the end
      for (int i = 0; i < ops_per_racer; ++i) {
        switch (rng() % 8) {
          case 0:
            try {
              f.set_result(me);
              ++log.set_value;
            } catch (futura::invalid_state_error const&) {
            }
            break;
          case 1:
            try {
              f.set_exception(std::runtime_error("racer"));
              ++log.set_error;
            } catch (futura::invalid_state_error const&) {
            }
            break;
          case 2:
            (void)f.cancel();
            break;
          case 3: {
            auto& counter =
                runs[static_cast<std::size_t>(me)][static_cast<std::size_t>(log.callbacks)];
            log.ids[static_cast<std::size_t>(log.callbacks++)] =
                f.add_done_callback([&counter] { counter.fetch_add(1); });
            break;
          }
          case 4:
            if (log.callbacks > 0) {
              auto const k = static_cast<std::size_t>(rng() % static_cast<unsigned>(log.callbacks));
              if (!log.removed[k]) log.removed[k] = f.remove_done_callback(log.ids[k]);
            }
            break;
          case 5:
            try {
              (void)f.result(std::chrono::microseconds(rng() % 50));
            } catch (...) {  // timeout, cancelled, the error: all fine here
            }
            break;
          case 6: {
            futura::future<counted> copy = f;  // a handle made and dropped concurrently
            f = std::move(copy);
            break;
          }
          default:
            (void)f.wait_for(0ms);
        }
        ops.fetch_add(1, std::memory_order_relaxed);
      }
      sync.arrive_and_wait();  // done with this round
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < racers; ++t) threads.emplace_back(racer, t);
  auto const start = std::chrono::steady_clock::now();
  for (long round = 0; round < rounds; ++round) {
    for (auto& per : runs)
      for (auto& c : per) c.store(0);
    promise.emplace();
    shared = promise->get_future();
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    bool const pending_at_end = !shared.done();
    if (pending_at_end) shared.set_result(-1);  // nobody completed it: callbacks still run
    int values = 0, errors = 0, winner = -2;
    for (int t = 0; t < racers; ++t) {
      auto const& log = logs[static_cast<std::size_t>(t)];
      values += log.set_value, errors += log.set_error;
      if (log.set_value) winner = t;
      for (int k = 0; k < log.callbacks; ++k) {
        int const ran = runs[static_cast<std::size_t>(t)][static_cast<std::size_t>(k)].load();
        auto const removed = log.removed[static_cast<std::size_t>(k)];
        if (ran != (removed ? 0 : 1) || removed > 1)
          BOOST_FAIL("round " << round << ": callback ran " << ran << " times, removed "
                              << removed);
      }
    }
    // Exactly one completion won, and the state says which.
    switch (shared.state()) {
      case futura::future_state::finished:
        if (values + (pending_at_end ? 1 : 0) == 1 && errors == 0) {
          if ((pending_at_end ? -1 : winner) != shared.result().value)
            BOOST_FAIL("round " << round << ": the value is not the winner's");
        } else if (!(errors == 1 && values == 0 && !pending_at_end)) {
          BOOST_FAIL("round " << round << ": " << values << " values and " << errors
                              << " errors were accepted");
        } else {
          (void)shared.exception();  // retrieved
        }
        break;
      case futura::future_state::cancelled:
        if (values + errors != 0) BOOST_FAIL("round " << round << ": set after cancel");
        break;
      default:
        BOOST_FAIL("round " << round << ": not done");
    }
    shared = {};
    promise.reset();
  }
  for (auto& t : threads) t.join();
  auto const secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST(counted::alive() == 0);
  BOOST_TEST_MESSAGE("racing: " << ops.load() << " operations in " << rounds << " rounds, "
                                << static_cast<long>(static_cast<double>(ops.load()) / secs)
                                << " ops/s");
}

// ---- teardown at every step ----------------------------------------------------------
//
// One scenario of tasks, wait_for, a gather of loop and pool futures, a use_future timer, a
// semaphore and async_next, run for exactly k turns of its io_context; then the io_context
// is destroyed, and only then do the pool futures complete. For every k, until the
// scenario finishes by itself: no sanitizer report, no hang, every counted object freed.

namespace {

/// Runs the scenario for `k` turns; true if it finished within them.
bool teardown_scenario(long k) {
  futura::thread_pool_executor pool{{.max_workers = 2}};
  std::latch release{1};
  bool released = false;
  auto const let_go = [&] {
    if (!std::exchange(released, true)) release.count_down();
  };
  auto slow = pool.submit([&] {
    release.wait();
    return counted(1);
  });
  futura::semaphore sem(1);
  auto range = futura::as_completed(std::vector{slow});
  bool finished = false;
  {
    asio::io_context ioc;
    auto loop_value = futura::create_future<int>(ioc);
    auto waits = futura::create_task(ioc, [slow, c = counted(2)]() -> asio::awaitable<int> {
      auto v = co_await futura::wait_for(slow, 1h);
      co_return v.value + c.value;
    });
    auto both = futura::gather(loop_value, slow);
    auto gathers = futura::create_task(ioc, [both, c = counted(3)]() -> asio::awaitable<int> {
      auto [a, b] = co_await both;
      co_return a + b.value + c.value;
    });
    asio::steady_timer timer(ioc, 1ms);
    auto tick = timer.async_wait(futura::use_future);
    auto holds = futura::create_task(ioc, [&sem, tick, c = counted(4)]() -> asio::awaitable<int> {
      co_await sem.acquire();
      futura::semaphore::releaser done(sem);
      co_await tick;
      co_return c.value;
    });
    auto queues = futura::create_task(ioc, [&sem, c = counted(5)]() -> asio::awaitable<int> {
      co_await sem.acquire();
      sem.release();
      co_return c.value;
    });
    auto drains = futura::create_task(ioc, [&range, c = counted(6)]() -> asio::awaitable<int> {
      int n = 0;
      while (auto f = co_await range.async_next(asio::use_awaitable)) n += f->result().value;
      co_return n + c.value;
    });
    asio::post(ioc, [loop_value, c = counted(7)] { loop_value.set_result(c.value); });
    asio::post(ioc, let_go);  // the pool completes while the loop runs, if it runs that far
    auto all = futura::gather_settled(waits, gathers, holds, queues, drains);
    for (long i = 0; i < k && !all.done() && ioc.run_one(); ++i) {
    }
    finished = all.done();
  }          // the io_context dies here, with whatever is still pending on it
  let_go();  // and only now do the pool futures complete (posting nowhere)
  (void)slow.result();
  return finished;
}

}  // namespace

BOOST_AUTO_TEST_CASE(tearing_the_loop_down_at_every_step_frees_everything) {
  long const repeat = stress_scaled(10);
  long steps = 0;
  for (long r = 0; r < repeat; ++r) {
    for (long k = 0;; ++k) {
      bool const finished = teardown_scenario(k);
      BOOST_REQUIRE_MESSAGE(counted::alive() == 0, "k = " << k << ": counted objects leaked");
      ++steps;
      if (finished) break;
      BOOST_REQUIRE_MESSAGE(k < 10000, "the scenario never finishes");
    }
  }
  BOOST_TEST_MESSAGE("teardown: " << steps << " scenarios, torn down after 0.. k turns");
}

// ---- model ---------------------------------------------------------------------------
//
// Random sequences of operations on a handful of futures, checked step by step against a
// small reference model of Python's semantics. A failure prints its seed and step.

namespace {

enum class mstate { pending, running, value, error, cancelled };

struct model_future {
  futura::promise<int> p;
  futura::future<int> f = p.get_future();
  mstate state = mstate::pending;
  int value = 0;
  std::vector<std::pair<futura::callback_id, int>> callbacks;  // pending ones, with slot
};

bool is_done(mstate s) {
  return s == mstate::value || s == mstate::error || s == mstate::cancelled;
}

futura::future_state public_of(mstate s) {
  switch (s) {
    case mstate::pending:
      return futura::future_state::pending;
    case mstate::running:
      return futura::future_state::running;
    case mstate::cancelled:
      return futura::future_state::cancelled;
    default:
      return futura::future_state::finished;
  }
}

/// The model of gather(a, b): the first failure or cancellation of a child fails it (a
/// cancelled child with cancelled_error); all values: both values.
struct model_gather {
  futura::future<std::tuple<int, int>> g;
  std::size_t a, b;
  bool cancelled = false;  // gather.cancel() reached it while pending
};

/// The model's expectation for a gather, given its children.
mstate expected_gather(model_gather const& mg, std::vector<model_future> const& fs, int& va,
                       int& vb) {
  if (mg.cancelled) return mstate::cancelled;
  auto const& a = fs[mg.a];
  auto const& b = fs[mg.b];
  for (auto const* c : {&a, &b})
    if (c->state == mstate::error || c->state == mstate::cancelled) return mstate::error;
  if (a.state == mstate::value && b.state == mstate::value) {
    va = a.value, vb = b.value;
    return mstate::value;
  }
  return mstate::pending;
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_operation_sequences_follow_the_reference_model) {
  long const sequences = stress_scaled(2000);
  int constexpr steps = 40;
  auto const base_seed = seed_for("model");
  long checked = 0;
  for (long seq = 0; seq < sequences; ++seq) {
    auto const seed = base_seed + static_cast<std::uint64_t>(seq);
    std::mt19937_64 rng(seed);
    std::vector<int> runs(64, 0), expected_runs(64, 0);  // outlive the futures' callbacks
    std::vector<model_future> fs(4);
    std::vector<model_gather> gathers;
    int next_slot = 0;
    // The model's effect of a future reaching a final state: its pending callbacks run.
    auto complete = [&](model_future& m, mstate to) {
      m.state = to;
      for (auto& [id, slot] : m.callbacks) ++expected_runs[static_cast<std::size_t>(slot)];
      m.callbacks.clear();
    };
    for (int step = 0; step < steps; ++step) {
      BOOST_TEST_CONTEXT("seed " << seed << " (FUTURA_STRESS_SEED replays it), step " << step) {
        auto& m = fs[rng() % fs.size()];
        switch (rng() % 11) {
          case 0: {  // set_result
            int const v = static_cast<int>(rng() % 100);
            bool threw = false;
            try {
              m.f.set_result(v);
            } catch (futura::invalid_state_error const&) {
              threw = true;
            }
            BOOST_TEST(threw == is_done(m.state));
            if (!is_done(m.state)) m.value = v, complete(m, mstate::value);
            break;
          }
          case 1: {  // set_exception
            bool threw = false;
            try {
              m.f.set_exception(std::runtime_error("model"));
            } catch (futura::invalid_state_error const&) {
              threw = true;
            }
            BOOST_TEST(threw == is_done(m.state));
            if (!is_done(m.state)) complete(m, mstate::error);
            break;
          }
          case 2: {  // cancel
            bool const got = m.f.cancel();
            bool const want = m.state == mstate::pending || m.state == mstate::cancelled;
            BOOST_TEST(got == want);
            if (m.state == mstate::pending) complete(m, mstate::cancelled);
            break;
          }
          case 3: {  // set_running_or_notify_cancel
            if (m.state == mstate::pending) {
              BOOST_TEST(m.f.set_running_or_notify_cancel());
              m.state = mstate::running;
            } else if (m.state == mstate::cancelled) {
              BOOST_TEST(!m.f.set_running_or_notify_cancel());
            } else {
              BOOST_CHECK_THROW(m.f.set_running_or_notify_cancel(), futura::invalid_state_error);
            }
            break;
          }
          case 4: {  // add_done_callback: at once if done, else when it completes
            if (next_slot == 64) break;
            int const slot = next_slot++;
            auto const id =
                m.f.add_done_callback([&runs, slot] { ++runs[static_cast<std::size_t>(slot)]; });
            if (is_done(m.state))
              ++expected_runs[static_cast<std::size_t>(slot)];
            else
              m.callbacks.emplace_back(id, slot);
            break;
          }
          case 5: {  // remove_done_callback
            if (m.callbacks.empty()) {
              BOOST_TEST(m.f.remove_done_callback(futura::callback_id{9999}) == 0u);
              break;
            }
            auto const k = rng() % m.callbacks.size();
            BOOST_TEST(m.f.remove_done_callback(m.callbacks[k].first) == 1u);
            BOOST_TEST(m.f.remove_done_callback(m.callbacks[k].first) == 0u);
            m.callbacks.erase(m.callbacks.begin() + static_cast<std::ptrdiff_t>(k));
            break;
          }
          case 6: {  // result(0): what Python's result(timeout=0) does
            try {
              int const v = m.f.result(0ms);
              BOOST_TEST((m.state == mstate::value && v == m.value));
            } catch (futura::timeout_error const&) {
              BOOST_TEST(!is_done(m.state));
            } catch (futura::cancelled_error const&) {
              BOOST_TEST((m.state == mstate::cancelled));
            } catch (std::runtime_error const&) {
              BOOST_TEST((m.state == mstate::error));
            }
            break;
          }
          case 7: {  // wait(first_completed, 0): the done / not-done split
            std::vector<futura::future<int>> all;
            for (auto& x : fs) all.push_back(x.f);
            auto [done, not_done] = futura::wait(all, futura::return_when::first_completed, 0ms);
            std::size_t want_done = 0;
            for (auto& x : fs) want_done += is_done(x.state);
            BOOST_TEST(done.size() == want_done);
            BOOST_TEST(not_done.size() == fs.size() - want_done);
            break;
          }
          case 8: {  // as_completed(0): the done ones in input order, then the timeout
            std::vector<futura::future<int>> all, want;
            for (auto& x : fs) {
              all.push_back(x.f);
              if (is_done(x.state)) want.push_back(x.f);
            }
            std::vector<futura::future<int>> got;
            std::string timed_out;
            try {
              for (auto const& f : futura::as_completed(all, 0ms)) got.push_back(f);
            } catch (futura::timeout_error const& e) {
              timed_out = e.what();
            }
            BOOST_TEST((got == want));
            if (want.size() == all.size())
              BOOST_TEST(timed_out.empty());
            else
              BOOST_TEST(timed_out == std::to_string(all.size() - want.size()) + " (of " +
                                          std::to_string(all.size()) + ") futures unfinished");
            break;
          }
          case 9: {  // gather of two
            if (gathers.size() == 6) break;
            auto const a = rng() % fs.size(), b = rng() % fs.size();
            gathers.push_back({futura::gather(fs[a].f, fs[b].f), a, b});
            break;
          }
          default: {  // cancel a gather: its unfinished children are cancelled
            if (gathers.empty()) break;
            auto& mg = gathers[rng() % gathers.size()];
            int va, vb;
            auto const before = expected_gather(mg, fs, va, vb);
            bool const got = mg.g.cancel();
            BOOST_TEST(got == (before == mstate::pending || before == mstate::cancelled));
            if (before == mstate::pending) {
              mg.cancelled = true;
              for (auto i : {mg.a, mg.b})
                if (!is_done(fs[i].state)) {
                  // A pending child is cancelled; a running one cannot be (it stays).
                  if (fs[i].state == mstate::pending) complete(fs[i], mstate::cancelled);
                }
            }
            break;
          }
        }
        // Every future, every gather and every callback agrees with the model.
        for (auto& x : fs) BOOST_TEST((x.f.state() == public_of(x.state)));
        BOOST_TEST((runs == expected_runs));
        for (auto& mg : gathers) {
          int va = 0, vb = 0;
          auto const want = expected_gather(mg, fs, va, vb);
          BOOST_TEST((mg.g.state() == public_of(want)));
          if (want == mstate::value) BOOST_TEST((mg.g.result() == std::tuple{va, vb}));
          if (want == mstate::error) BOOST_TEST(static_cast<bool>(mg.g.exception()));
        }
        ++checked;
      }
    }
    for (auto& x : fs) (void)x.f.cancel();  // retrieve failures: nothing reported
    for (auto& mg : gathers) (void)mg.g.cancel();
  }
  BOOST_TEST_MESSAGE("model: " << sequences << " sequences, " << checked << " steps checked");
}
