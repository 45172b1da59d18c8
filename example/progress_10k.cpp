// 10,000 small tasks on a thread pool (ten of which fail), with progress shown as they
// complete: a line every 10% and a summary. Twice: first from a thread, blocking in
// futura::as_completed (concurrent.futures style), then from a coroutine on an io_context
// that awaits as_completed(...).async_next(use_awaitable) (asyncio style, no thread blocks).
//
// Every line is the same from run to run except the "took" lines (the test skips them):
// progress is counted in completions, whatever order they come in.
#include <futura/as_completed.hpp>  // not in futura.hpp (yet)
#include <futura/futura.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iomanip>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr int total = 10'000;
constexpr int fail_every = 1'000;  // tasks 999, 1999, ..., 9999 fail
constexpr int workers = 4;

/// A small task: 2 * i; every 1000th throws.
std::int64_t work(int i) {
  if (i % fail_every == fail_every - 1)
    throw std::runtime_error("task " + std::to_string(i) + " failed");
  return 2 * static_cast<std::int64_t>(i);
}

std::vector<futura::future<std::int64_t>> submit_all(futura::thread_pool_executor& pool) {
  std::vector<futura::future<std::int64_t>> futures;
  futures.reserve(total);
  for (int i = 0; i < total; ++i) futures.push_back(pool.submit(work, i));
  return futures;
}

/// Counts completions and prints progress every 10%.
class progress {
 public:
  explicit progress(std::string phase)
      : phase_(std::move(phase)), start_(std::chrono::steady_clock::now()) {}

  void add(futura::future<std::int64_t> const& f) {
    try {
      sum_ += f.result();  // never blocks: as_completed yields done futures
    } catch (std::exception const& e) {
      failed_.push_back(e.what());
    }
    if (++done_ % (total / 10) == 0)
      std::cout << phase_ << ": " << done_ * 100 / total << "% (" << done_ << " of " << total
                << " done)\n";
  }

  void summary() {
    auto const took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_);
    std::cout << phase_ << ": " << done_ << " done, " << failed_.size() << " failed, sum of "
              << "results " << sum_ << '\n';
    std::sort(failed_.begin(), failed_.end(), [](std::string const& a, std::string const& b) {
      return a.size() != b.size() ? a.size() < b.size() : a < b;  // "task 999" < "task 1999"
    });
    std::cout << phase_ << ": failures:";
    for (auto const& what : failed_) std::cout << " [" << what << ']';
    std::cout << '\n';
    std::cout << std::fixed << std::setprecision(1) << phase_ << " took " << took.count() * 1e3
              << " ms (" << took.count() * 1e9 / total << " ns per task)\n";
  }

 private:
  std::string phase_;
  std::chrono::steady_clock::time_point start_;
  int done_ = 0;
  std::int64_t sum_ = 0;
  std::vector<std::string> failed_;
};

}  // namespace

int main() {
  futura::thread_pool_executor pool{{.max_workers = workers}};

  // Phase 1: concurrent.futures. This thread blocks in as_completed's ++ until the next
  // future is done; the range lets go of each future once it has been passed.
  std::cout << "phase 1: " << total << " tasks on " << workers
            << " workers, results from futura::as_completed (blocking)\n";
  {
    progress p("phase 1");
    for (auto const& f : futura::as_completed(submit_all(pool))) p.add(f);
    p.summary();
  }

  // Phase 2: asyncio. A coroutine on an io_context awaits each next future; the loop's
  // thread never blocks (it would run other coroutines meanwhile).
  std::cout << "phase 2: " << total << " tasks on " << workers
            << " workers, results from as_completed(...).async_next(use_awaitable) on an "
               "io_context\n";
  futura::run([&pool]() -> boost::asio::awaitable<void> {
    progress p("phase 2");
    auto completed = futura::as_completed(submit_all(pool));
    while (auto f = co_await completed.async_next(boost::asio::use_awaitable)) p.add(*f);
    p.summary();
  });
}
