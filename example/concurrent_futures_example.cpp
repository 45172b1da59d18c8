// C++ twin of the Python program concurrent_futures_example.py:
// ThreadPoolExecutor(max_workers=2), two submits, a done callback on each, then result().
#include <futura/futura.hpp>

#include <chrono>
#include <iostream>
#include <syncstream>
#include <thread>

namespace {

/// Computes the square of `number` after a delay.
int compute_square(int number) {
  std::osyncstream(std::cout) << "Computing square of " << number << '\n';
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a time-consuming computation
  int const result = number * number;
  std::osyncstream(std::cout) << "Computed square of " << number << ": " << result << '\n';
  return result;
}

}  // namespace

int main() {
  futura::thread_pool_executor executor{{.max_workers = 2}};
  futura::future<int> future1 = executor.submit(compute_square, 3);
  futura::future<int> future2 = executor.submit(compute_square, 4);

  future1.add_done_callback([](futura::future<int> const& fut) {
    std::osyncstream(std::cout) << "Result from future1: " << fut.result() << '\n';
  });
  future2.add_done_callback([](futura::future<int> const& fut) {
    std::osyncstream(std::cout) << "Result from future2: " << fut.result() << '\n';
  });

  std::osyncstream(std::cout) << "Waiting for futures to complete...\n";
  int const result1 = future1.result();  // blocks until both are done
  int const result2 = future2.result();
  std::osyncstream(std::cout) << "Final Results: " << result1 << ", " << result2 << '\n';
}  // ~thread_pool_executor: shutdown(wait=true), the end of Python's `with` block
