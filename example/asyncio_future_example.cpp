// Twin of the Python program asyncio_future_example.py: two
// loop-bound futures completed by tasks after a delay, awaited in turn.
#include <futura/loop.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <iostream>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct data {
  int id;
  std::string value;
  friend std::ostream& operator<<(std::ostream& os, data const& d) {  // Python's dict repr
    return os << "{'id': " << d.id << ", 'value': '" << d.value << "'}";
  }
};

asio::awaitable<void> fetch_data(futura::future<data> future, data d, std::chrono::seconds delay) {
  std::cout << "Fetching data with delay of " << delay.count() << " seconds..." << std::endl;
  co_await futura::sleep(delay);  // simulate an asynchronous operation
  future.set_result(d);
  std::cout << "Data fetched and future set: " << d << std::endl;
}

asio::awaitable<void> main_coro() {
  auto loop = co_await asio::this_coro::executor;

  auto future1 = futura::create_future<data>(loop);
  auto future2 = futura::create_future<data>(loop);

  // Scheduled: they start once main_coro yields, as asyncio tasks do.
  futura::create_task(loop, fetch_data(future1, {1, "Data1"}, 2s));
  futura::create_task(loop, fetch_data(future2, {2, "Data2"}, 3s));

  std::cout << "Waiting for futures to complete..." << std::endl;

  data result1 = co_await future1;
  std::cout << "Received result for future1: " << result1 << std::endl;

  data result2 = co_await future2;
  std::cout << "Received result for future2: " << result2 << std::endl;
}

int main() {
  futura::run(main_coro());
}
