// Twin of the "Basic Example: Creating and Awaiting a Future" Python program:
// a task sets a loop future after a delay.
#include <futura/loop.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <iostream>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<void> set_future_result(futura::future<std::string> fut, std::chrono::seconds delay,
                                        std::string result) {
  co_await futura::sleep(delay);  // simulate asynchronous work
  fut.set_result(result);         // set the result of the future
  std::cout << "Future result set to: " << result << std::endl;
}

asio::awaitable<void> main_coro() {
  auto loop = co_await asio::this_coro::executor;
  auto future = futura::create_future<std::string>(loop);

  // Schedule the coroutine that sets the future's result after 2 seconds.
  futura::create_task(loop, set_future_result(future, 2s, "Hello, Future!"));

  std::cout << "Waiting for the Future to be set..." << std::endl;
  std::string result = co_await future;
  std::cout << "Received Future result: " << result << std::endl;
}

int main() {
  futura::run(main_coro());
}
