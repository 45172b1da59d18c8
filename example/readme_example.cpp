// The example at the top of README.md, kept compiling and running here; it also checks
// that the umbrella header <futura/futura.hpp> stands on its own.
#include <futura/futura.hpp>

#include <iostream>
#include <stdexcept>
#include <syncstream>  // whole lines from two threads
#include <vector>

int main() {
  futura::thread_pool_executor pool{{.max_workers = 2}};  // ThreadPoolExecutor(2)
  auto square = pool.submit([](int x) { return x * x; }, 7);
  square.add_done_callback([](futura::future<int> const& f) {
    std::osyncstream(std::cout) << "callback: " << f.result() << '\n';  // once, on the worker
  });
  auto bad = pool.submit([]() -> int { throw std::invalid_argument("negative"); });
  try {
    bad.result();
  } catch (std::invalid_argument const& e) {
    std::osyncstream(std::cout) << e.what() << '\n';
  }
  std::osyncstream line(std::cout);
  for (int r : pool.map([](int x) { return x * 2; }, std::vector{1, 2, 3}))
    line << r << ' ';      // 2 4 6, in input order
  line << square << '\n';  // <Future at 0x... state=finished returned int>
}  // ~thread_pool_executor() == shutdown(wait=true)
