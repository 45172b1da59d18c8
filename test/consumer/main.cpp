// Built against an installed futura by test/consumer/run.cmake.
#include <futura/futura.hpp>

#include <iostream>

int main() {
  futura::thread_pool_executor pool{{.max_workers = 1}};
  auto square = pool.submit([](int x) { return x * x; }, 7);
  std::cout << "consumer: " << square.result() << '\n';
}
