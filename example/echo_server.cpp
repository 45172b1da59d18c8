// echo_server: a TCP echo server on two threads, in coroutines whose every socket operation
// returns a futura::future (`co_await sock.async_read_some(buf, futura::use_future)`).
//
//   echo_server                               demo: serve 20 clients of its own on a
//                                             loopback port chosen by the system, then exit
//   echo_server --port P --connections N      serve N clients on 127.0.0.1:P (0: any free
//                                             port), print the port, exit once all are done
//
// Try it with a client nobody here wrote:
//   echo_server --port 5555 --connections 1 &  printf 'hello\n' | nc -N 127.0.0.1 5555
#include "echo.hpp"

#include <futura/futura.hpp>

#include <boost/asio.hpp>

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;

/// The demo's own client: one connection, one line there and back.
asio::awaitable<bool> check_once(tcp::endpoint server, int i) {
  tcp::socket sock(co_await asio::this_coro::executor);
  co_await sock.async_connect(server, futura::use_future);
  std::string const line = "ping " + std::to_string(i) + "\n";
  co_await asio::async_write(sock, asio::buffer(line), futura::use_future);
  std::string reply;
  co_await asio::async_read_until(sock, asio::dynamic_buffer(reply), '\n', futura::use_future);
  co_return reply == line;
}

int main(int argc, char** argv) {
  echo::options opts{.port = 0, .connections = 20};
  bool const demo = argc == 1;
  if (!echo::parse_options(argc, argv, opts)) {
    std::cerr << "usage: echo_server [--port P] [--connections N]\n";
    return 2;
  }
  auto const port = opts.port;
  int const connections = opts.connections;

  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, {asio::ip::address_v4::loopback(), port});
  auto const endpoint = acceptor.local_endpoint();
  std::cout << "listening on " << endpoint << std::endl;  // flushed: a script reads it

  futura::future<echo::stats> server = futura::create_task(ioc, echo::serve(acceptor, connections));
  std::vector<futura::future<bool>> checks;
  if (demo)
    for (int i = 0; i < connections; ++i)
      checks.push_back(futura::create_task(ioc, check_once(endpoint, i)));

  std::thread second([&ioc] { ioc.run(); });
  ioc.run();
  second.join();

  // The loop has stopped: blocking result() calls are fine from here.
  int good = 0;
  for (auto& c : checks) good += c.result() ? 1 : 0;
  if (demo) std::cout << "demo clients: " << good << " of " << checks.size() << " echoed\n";
  echo::stats const s = server.result();
  std::cout << "served " << s.served << " connections, " << s.bytes << " bytes echoed, " << s.failed
            << " failed\n";
  return s.failed == 0 && good == static_cast<int>(checks.size()) ? 0 : 1;
}
