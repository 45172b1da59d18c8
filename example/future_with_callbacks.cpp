// C++ twin of the Python program future_with_callbacks.py:
// five tasks on two workers, each with a done callback that reports its result.
#include <futura/futura.hpp>

#include <chrono>
#include <exception>
#include <iostream>
#include <syncstream>
#include <thread>
#include <vector>

namespace {

/// A time-consuming task: sleeps, then returns n * 10.
int task(int n) {
  std::osyncstream(std::cout) << "Task " << n << " started.\n";
  std::this_thread::sleep_for(std::chrono::seconds(1));
  int const result = n * 10;
  std::osyncstream(std::cout) << "Task " << n << " completed with result: " << result << '\n';
  return result;
}

/// Reports the outcome of a finished future.
void callback(futura::future<int> const& fut) {
  try {
    int const result = fut.result();
    std::osyncstream(std::cout) << "Callback received result: " << result << '\n';
  } catch (std::exception const& e) {
    std::osyncstream(std::cout) << "Callback received an exception: " << e.what() << '\n';
  }
}

}  // namespace

int main() {
  futura::thread_pool_executor executor{{.max_workers = 2}};
  std::vector<futura::future<int>> futures;
  for (int i = 0; i < 5; ++i) {
    auto fut = executor.submit(task, i);
    fut.add_done_callback(callback);
    futures.push_back(fut);
  }

  for (auto const& fut : futures) fut.result();  // wait for all of them
}
