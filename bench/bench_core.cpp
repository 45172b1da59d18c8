// The core against its peers, side by side in one binary so that ratios come from one run.
//
//   round_trip/*           promise → future → set → get on one thread, per round trip
//   round_trip_callback/*  the same with one done callback attached before the set
//   pool*/*                1,000 tiny tasks on a pool, every result collected (see 2.)
//
// Every benchmark reports items_per_second (round trips or tasks) and a label naming the
// contender; bench/ratios.py turns a --benchmark_format=json run into the ratios of the
// issue. Names are "<group>/<contender>": ratios.py looks them up by that name.

// Boost.Thread's futures with .then(): only this translation unit includes Boost.Thread.
// Another file of this binary that includes <boost/thread/future.hpp> must define the same
// version, or the two would instantiate different definitions of the same templates.
#define BOOST_THREAD_VERSION 4

#include <futura/promise.hpp>
#include <futura/submit.hpp>
#include <futura/thread_pool_executor.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/thread/future.hpp>

#include <atomic>
#include <barrier>
#include <future>
#include <thread>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------
// 1. Round trip on one thread: create a promise, get its future, set the value, get it.

void round_trip_futura(benchmark::State& state) {
  for (auto _ : state) {
    futura::promise<int> p;
    futura::future<int> f = p.get_future();
    p.set_result(42);
    benchmark::DoNotOptimize(f.result());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("futura::promise");
}

void round_trip_std(benchmark::State& state) {
  for (auto _ : state) {
    std::promise<int> p;
    std::future<int> f = p.get_future();
    p.set_value(42);
    benchmark::DoNotOptimize(f.get());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("peer: std::promise");
}

void round_trip_boost(benchmark::State& state) {
  for (auto _ : state) {
    boost::promise<int> p;
    boost::future<int> f = p.get_future();
    p.set_value(42);
    benchmark::DoNotOptimize(f.get());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("peer: boost::promise");
}

// The same, with one callback registered while the future is pending, so it runs inside
// set. std::future has no callbacks; Boost's nearest is .then(launch::sync), which also
// makes a second future (its API cannot do otherwise).

void round_trip_callback_futura(benchmark::State& state) {
  int seen = 0;
  for (auto _ : state) {
    futura::promise<int> p;
    futura::future<int> f = p.get_future();
    f.add_done_callback([&seen](futura::future<int> const& done) { seen += done.result(); });
    p.set_result(42);
    benchmark::DoNotOptimize(f.result());
  }
  benchmark::DoNotOptimize(seen);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("futura::promise + add_done_callback");
}

void round_trip_callback_boost(benchmark::State& state) {
  int seen = 0;
  for (auto _ : state) {
    boost::promise<int> p;
    boost::future<int> f = p.get_future();
    auto g = f.then(boost::launch::sync, [&seen](boost::future<int> done) {
      int const v = done.get();
      seen += v;
      return v;
    });
    p.set_value(42);
    benchmark::DoNotOptimize(g.get());
  }
  benchmark::DoNotOptimize(seen);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("peer: boost::promise + then(launch::sync)");
}

BENCHMARK(round_trip_futura)->Name("round_trip/futura");
BENCHMARK(round_trip_std)->Name("round_trip/std_promise");
BENCHMARK(round_trip_boost)->Name("round_trip/boost_promise");
BENCHMARK(round_trip_callback_futura)->Name("round_trip_callback/futura");
BENCHMARK(round_trip_callback_boost)->Name("round_trip_callback/boost_then");

// ---------------------------------------------------------------------------------------
// 2. Pool throughput: 1,000 tiny tasks per iteration, every result collected. Arguments:
// workers, and submitting threads (the 1,000 split between them, all submitting at once:
// that is where a shared registry would contend). The pool is built before the timed loop;
// with one submitter, the submitting thread is the benchmark's own. Wall-clock time.
//
//   pool/<contender>                     2 workers, 1 submitter: the headline figures
//   pool/<contender>/workers:N           N = 1, 2, 4, 8 workers, 1 submitter
//   pool_submitters/<contender>          2 workers, 4 submitters

constexpr int tasks = 1000;

void report_tasks(benchmark::State& state, char const* label) {
  auto const n = static_cast<double>(state.iterations()) * tasks;
  state.SetItemsProcessed(state.iterations() * tasks);
  // Wall time per task, shown next to the rate.
  state.counters["time_per_task"] =
      benchmark::Counter(n, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(label);
}

/// Runs `submit_range(begin, end)` for [0, tasks) split over `submitters` threads that
/// start together (the benchmark's own thread takes the first share), then `collect()`.
template <class Submit, class Collect>
void submit_and_collect(int submitters, Submit&& submit_range, Collect&& collect) {
  if (submitters <= 1) {
    submit_range(0, tasks);
  } else {
    std::barrier start(submitters);
    std::vector<std::jthread> others;
    int const share = tasks / submitters;
    for (int t = 1; t < submitters; ++t)
      others.emplace_back([&, t] {
        start.arrive_and_wait();
        submit_range(t * share, t + 1 == submitters ? tasks : (t + 1) * share);
      });
    start.arrive_and_wait();
    submit_range(0, share);
  }  // the other submitters are joined here
  collect();
}

// The floor: what Asio itself costs to run a task, with nothing to carry a result back but
// one shared counter, and one wake-up for the whole batch.
void pool_raw_post(benchmark::State& state) {
  boost::asio::thread_pool pool(state.range(0));
  std::atomic<int> finished{0};
  for (auto _ : state) {
    finished.store(0, std::memory_order_relaxed);
    submit_and_collect(
        static_cast<int>(state.range(1)),
        [&](int b, int e) {
          for (int i = b; i < e; ++i)
            boost::asio::post(pool, [&finished, i] {
              benchmark::DoNotOptimize(i * 2);
              if (finished.fetch_add(1, std::memory_order_acq_rel) + 1 == tasks)
                finished.notify_one();
            });
        },
        [&] {
          for (int n; (n = finished.load(std::memory_order_acquire)) < tasks;)
            finished.wait(n, std::memory_order_acquire);
        });
  }
  report_tasks(state, "floor: asio::post + atomic counter");
}

/// The futures of [b, e) go to their own slots: submitters never share a vector.
template <class Future, class MakeFuture, class Get>
void pool_futures(benchmark::State& state, MakeFuture&& make, Get&& get, char const* label) {
  std::vector<Future> futures(tasks);
  for (auto _ : state) {
    submit_and_collect(
        static_cast<int>(state.range(1)),
        [&](int b, int e) {
          for (int i = b; i < e; ++i) futures[i] = make(i);
        },
        [&] {
          long sum = 0;
          for (auto& f : futures) sum += get(f);
          benchmark::DoNotOptimize(sum);
        });
  }
  report_tasks(state, label);
}

void pool_asio_use_future(benchmark::State& state) {
  boost::asio::thread_pool pool(state.range(0));
  pool_futures<std::future<int>>(
      state,
      [&](int i) {
        return boost::asio::post(pool, boost::asio::use_future([i] { return i * 2; }));
      },
      [](std::future<int>& f) { return f.get(); },
      "peer: asio::post(use_future) + std::future::get");
}

void pool_futura_executor(benchmark::State& state) {
  futura::thread_pool_executor pool{{.max_workers = static_cast<int>(state.range(0))}};
  pool_futures<futura::future<int>>(
      state, [&](int i) { return pool.submit([i] { return i * 2; }); },
      [](futura::future<int>& f) { return f.result(); },
      "futura::thread_pool_executor::submit + result");
}

void pool_futura_submit(benchmark::State& state) {
  boost::asio::thread_pool pool(state.range(0));
  auto const ex = pool.get_executor();
  pool_futures<futura::future<int>>(
      state, [&](int i) { return futura::submit(ex, [i] { return i * 2; }); },
      [](futura::future<int>& f) { return f.result(); },
      "futura::submit(asio::thread_pool) + result");
}

#define FUTURA_POOL_BENCH(fn, name)         \
  BENCHMARK(fn)                             \
      ->Name("pool/" name)                  \
      ->Args({2, 1})                        \
      ->ArgNames({"workers", "submitters"}) \
      ->UseRealTime();                      \
  BENCHMARK(fn)                             \
      ->Name("pool_submitters/" name)       \
      ->Args({2, 4})                        \
      ->ArgNames({"workers", "submitters"}) \
      ->UseRealTime();                      \
  BENCHMARK(fn)                             \
      ->Name("pool_workers/" name)          \
      ->ArgsProduct({{1, 2, 4, 8}, {1}})    \
      ->ArgNames({"workers", "submitters"}) \
      ->UseRealTime();

FUTURA_POOL_BENCH(pool_raw_post, "raw_post")
FUTURA_POOL_BENCH(pool_asio_use_future, "asio_use_future")
FUTURA_POOL_BENCH(pool_futura_executor, "futura_executor")
FUTURA_POOL_BENCH(pool_futura_submit, "futura_submit")

}  // namespace
