// Twin of the "Advanced Example: Using Futures with Callbacks" Python program:
// done callbacks on loop futures, which run on
// the loop's next turn, after the line that set the result.
#include <futura/gather.hpp>
#include <futura/loop.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <exception>
#include <iostream>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;

void future_callback(futura::future<std::string> const& fut) {
  try {
    auto const& result = fut.result();  // throws before anything is printed
    std::cout << "Callback received result: " << result << std::endl;
  } catch (std::exception const& e) {
    std::cout << "Callback encountered an exception: " << e.what() << std::endl;
  }
}

asio::awaitable<void> perform_task(futura::future<std::string> fut, std::chrono::seconds delay,
                                   std::string data) {
  co_await futura::sleep(delay);  // simulate asynchronous work
  fut.set_result(data);
  std::cout << "Task completed and result set to: " << data << std::endl;
}

asio::awaitable<void> main_coro() {
  auto loop = co_await asio::this_coro::executor;
  auto future1 = futura::create_future<std::string>(loop);
  auto future2 = futura::create_future<std::string>(loop);

  future1.add_done_callback(future_callback);
  future2.add_done_callback(future_callback);

  futura::create_task(loop, perform_task(future1, 1s, "First Result"));
  futura::create_task(loop, perform_task(future2, 2s, "Second Result"));

  std::cout << "Tasks scheduled. Awaiting Futures..." << std::endl;
  co_await futura::gather(future1, future2);  // await both
}

int main() {
  futura::run(main_coro());
}
