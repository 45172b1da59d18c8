// Twin of the "Handling Exceptions in Futures" Python program:
// one loop future gets a result, the other an
// exception; gather_settled is Python's gather(..., return_exceptions=True).
#include <futura/gather.hpp>
#include <futura/loop.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;

void exception_callback(futura::future<std::string> const& fut) {
  try {
    auto const& result = fut.result();  // throws before anything is printed
    std::cout << "Callback received result: " << result << std::endl;
  } catch (std::exception const& e) {
    std::cout << "Callback encountered an exception: " << e.what() << std::endl;
  }
}

asio::awaitable<void> faulty_task(futura::future<std::string> fut, std::chrono::seconds delay) {
  co_await futura::sleep(delay);  // simulate asynchronous work
  try {
    throw std::invalid_argument("An error occurred in the faulty task!");
  } catch (...) {
    fut.set_exception(std::current_exception());
    std::cout << "Faulty task encountered an exception and set it on the Future." << std::endl;
  }
}

asio::awaitable<void> successful_task(futura::future<std::string> fut, std::chrono::seconds delay,
                                      std::string data) {
  co_await futura::sleep(delay);
  fut.set_result(data);
  std::cout << "Successful task set result to: " << data << std::endl;
}

asio::awaitable<void> main_coro() {
  auto loop = co_await asio::this_coro::executor;
  auto future_success = futura::create_future<std::string>(loop);
  auto future_failure = futura::create_future<std::string>(loop);

  future_success.add_done_callback(exception_callback);
  future_failure.add_done_callback(exception_callback);

  futura::create_task(loop, successful_task(future_success, 1s, "Success Data"));
  futura::create_task(loop, faulty_task(future_failure, 2s));

  std::cout << "Tasks scheduled. Awaiting Futures..." << std::endl;
  co_await futura::gather_settled(future_success, future_failure);
}

int main() {
  futura::run(main_coro());
}
