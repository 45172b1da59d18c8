// C++ twin of the Python program future_exception_handling.py:
// a task that throws for a negative input; its done callback reports the exception.
// Python's ValueError is std::invalid_argument here.
#include <futura/futura.hpp>

#include <chrono>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>
#include <syncstream>
#include <thread>
#include <vector>

namespace {

/// Returns n * 2 after a delay; throws std::invalid_argument if n is negative.
int faulty_task(int n) {
  std::osyncstream(std::cout) << "Faulty Task " << n << " started.\n";
  std::this_thread::sleep_for(std::chrono::seconds(1));
  if (n < 0) throw std::invalid_argument("Negative input not allowed: " + std::to_string(n));
  int const result = n * 2;
  std::osyncstream(std::cout) << "Faulty Task " << n << " completed with result: " << result
                              << '\n';
  return result;
}

/// Reports the result or the exception of a finished future.
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
  for (int n : {5, -1, 10}) {
    auto fut = executor.submit(faulty_task, n);
    fut.add_done_callback(callback);
    futures.push_back(fut);
  }

  for (auto const& fut : futures) {
    try {
      fut.result();
    } catch (std::exception const&) {
      // Already reported by the callback.
    }
  }
}
