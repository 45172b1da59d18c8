// The example at the top of README.md, kept compiling and running here; it also checks
// that the umbrella header <futura/futura.hpp> stands on its own.
#include <futura/futura.hpp>

#include <iostream>
#include <stdexcept>
#include <vector>

int main() {
  futura::thread_pool_executor pool{{.max_workers = 2}};  // ThreadPoolExecutor(2)
  auto square = pool.submit([](int x) { return x * x; }, 7);
  square.add_done_callback([](futura::future<int> const& f) {
    std::cout << "callback: " << f.result() << '\n';  // runs once
  });
  auto bad = pool.submit([]() -> int { throw std::invalid_argument("negative"); });
  try {
    bad.result();
  } catch (std::invalid_argument const& e) {
    std::cout << e.what() << '\n';
  }
  for (int r : pool.map([](int x) { return x * 2; }, std::vector{1, 2, 3}))
    std::cout << r << ' ';      // 2 4 6, in input order
  std::cout << square << '\n';  // <Future at 0x... state=finished returned int>
}  // ~thread_pool_executor() == shutdown(wait=true)
