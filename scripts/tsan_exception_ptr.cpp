// The false positive scripts/tsan.supp suppresses, without futura: build with
//   g++ -std=c++20 -fsanitize=thread -g scripts/tsan_exception_ptr.cpp && ./a.out
// libstdc++ counts std::exception_ptr references with atomics inside libstdc++.so, which
// TSan does not see. A read of the exception on one thread, then the last release (the
// free) on another, looks like a race although the reference count orders them. The
// relaxed flag below only makes the run deterministic; in real code nothing but the
// reference count orders the two threads.
#include <atomic>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

int main() {
  std::exception_ptr e = std::make_exception_ptr(std::runtime_error("boom"));
  auto* copy = new std::exception_ptr(e);
  std::atomic<int> done{0};
  std::thread t([&] {
    try {
      std::rethrow_exception(*copy);
    } catch (std::exception const& x) {
      volatile std::size_t n = std::string(x.what()).size();  // reads the exception
      (void)n;
    }
    delete copy;  // one reference less
    done.store(1, std::memory_order_relaxed);
  });
  while (done.load(std::memory_order_relaxed) == 0) {
  }
  e = nullptr;  // the last reference: frees the exception
  t.join();
}
