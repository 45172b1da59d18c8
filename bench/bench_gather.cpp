// gather and as_completed over N = 1,000 / 100,000 / 1,000,000 futures, per future.
//
//   gather/ready/N         futura::gather(range) over N finished futures, then result()
//   gather/pending/N       gather over N pending promises, which the benchmark then sets
//                          (in order, on this thread), then result()
//   as_completed/ready/N   futura::as_completed(range) over N finished futures, iterated
//   as_completed/pending/N as_completed over N pending promises, set after the range is
//                          built, then iterated
//   set/pending/N          the floor of the pending cases: setting N promises that nobody
//                          listens to (what the producer pays whatever the layer)
//
// All on one thread, so the figures are the layer's own cost, not thread scheduling.
// items_per_second counts futures; `per_future` is its inverse (seconds; ns in the console).
// The futures of the pending cases are made (and destroyed) outside the timed region.
// bench/python_gather.py runs the Python side (asyncio.gather,
// concurrent.futures.as_completed) and prints both with the ratios.

#include <futura/as_completed.hpp>
#include <futura/gather.hpp>
#include <futura/promise.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace {

std::vector<futura::future<int>> finished_futures(std::size_t n) {
  std::vector<futura::future<int>> fs;
  fs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    futura::promise<int> p;
    fs.push_back(p.get_future());
    p.set_result(static_cast<int>(i));
  }
  return fs;
}

struct pending_set {
  explicit pending_set(std::size_t n) : promises(n) {
    futures.reserve(n);
    for (auto& p : promises) futures.push_back(p.get_future());
  }
  void set_all() {
    int i = 0;
    for (auto& p : promises) p.set_result(i++);
  }
  std::vector<futura::promise<int>> promises;
  std::vector<futura::future<int>> futures;
};

void per_future(benchmark::State& state, std::size_t n) {
  auto const items = static_cast<std::int64_t>(state.iterations() * n);
  state.SetItemsProcessed(items);
  state.counters["per_future"] = benchmark::Counter(
      static_cast<double>(items), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void gather_ready(benchmark::State& state) {
  auto const n = static_cast<std::size_t>(state.range(0));
  auto const fs = finished_futures(n);
  for (auto _ : state) {
    auto all = futura::gather(fs);
    benchmark::DoNotOptimize(all.result().data());
  }
  per_future(state, n);
}

void gather_pending(benchmark::State& state) {
  auto const n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    auto* work = new pending_set(n);
    state.ResumeTiming();
    {
      auto all = futura::gather(work->futures);
      work->set_all();
      benchmark::DoNotOptimize(all.result().data());
    }
    state.PauseTiming();
    delete work;
    state.ResumeTiming();
  }
  per_future(state, n);
}

void as_completed_ready(benchmark::State& state) {
  auto const n = static_cast<std::size_t>(state.range(0));
  auto const fs = finished_futures(n);
  for (auto _ : state) {
    std::size_t seen = 0;
    for (auto const& f : futura::as_completed(fs)) {
      benchmark::DoNotOptimize(&f);
      ++seen;
    }
    benchmark::DoNotOptimize(seen);
  }
  per_future(state, n);
}

void as_completed_pending(benchmark::State& state) {
  auto const n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    auto* work = new pending_set(n);
    state.ResumeTiming();
    {
      auto completed = futura::as_completed(work->futures);
      work->set_all();
      std::size_t seen = 0;
      for (auto const& f : completed) {
        benchmark::DoNotOptimize(&f);
        ++seen;
      }
      benchmark::DoNotOptimize(seen);
    }
    state.PauseTiming();
    delete work;
    state.ResumeTiming();
  }
  per_future(state, n);
}

void set_pending(benchmark::State& state) {
  auto const n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    auto* work = new pending_set(n);
    state.ResumeTiming();
    work->set_all();
    state.PauseTiming();
    delete work;
    state.ResumeTiming();
  }
  per_future(state, n);
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1'000)->Arg(100'000)->Arg(1'000'000);
}

}  // namespace

BENCHMARK(gather_ready)->Name("gather/ready")->Apply(sizes);
BENCHMARK(gather_pending)->Name("gather/pending")->Apply(sizes);
BENCHMARK(as_completed_ready)->Name("as_completed/ready")->Apply(sizes);
BENCHMARK(as_completed_pending)->Name("as_completed/pending")->Apply(sizes);
BENCHMARK(set_pending)->Name("set/pending")->Apply(sizes);
