// echo_client: fires many connections at an echo server at once, each a task whose future
// is collected at the end with futura::gather_settled, and prints a summary.
//
//   echo_client                             demo: start an echo server of its own on a
//                                           loopback port, send it 200 concurrent requests
//   echo_client --port P [--connections N]  N concurrent requests (default 200) to the echo
//                                           server on 127.0.0.1:P
#include "echo.hpp"

#include <futura/futura.hpp>
#include <futura/gather.hpp>

#include <boost/asio.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;

/// One request: connect, send a line, read the echo back. Any failure is an exception, which
/// lands in the request's future.
asio::awaitable<std::string> request(tcp::endpoint server, int i) {
  tcp::socket sock(co_await asio::this_coro::executor);
  co_await sock.async_connect(server, futura::use_future);
  std::string const line = "request " + std::to_string(i) + " " + std::string(i % 64, 'x') + "\n";
  co_await asio::async_write(sock, asio::buffer(line), futura::use_future);
  std::string reply;
  co_await asio::async_read_until(sock, asio::dynamic_buffer(reply), '\n', futura::use_future);
  if (reply != line) throw std::runtime_error("wrong echo: " + reply);
  co_return reply;
}

asio::awaitable<int> run_client(tcp::endpoint server, int connections) {
  auto ex = co_await asio::this_coro::executor;
  auto const start = std::chrono::steady_clock::now();

  std::vector<futura::future<std::string>> replies;  // all in flight at once
  for (int i = 0; i < connections; ++i)
    replies.push_back(futura::create_task(ex, request(server, i)));

  // gather_settled: one future for all of them, each element a reply or its exception.
  int echoed = 0;
  std::map<std::string, int> errors;  // what went wrong, and how often
  auto const results = co_await futura::gather_settled(replies);
  for (auto const& reply : results) {
    if (reply) {
      ++echoed;
      continue;
    }
    try {
      std::rethrow_exception(reply.error());
    } catch (std::exception const& e) {
      ++errors[e.what()];
    }
  }

  auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::cout << connections << " concurrent requests to " << server << ": " << echoed << " echoed, "
            << connections - echoed << " failed (" << ms.count() << " ms)\n";
  for (auto const& [what, n] : errors) std::cout << "  " << n << " x " << what << '\n';
  co_return echoed == connections ? 0 : 1;
}

int main(int argc, char** argv) {
  echo::options opts{.port = 0, .connections = 200};
  if (!echo::parse_options(argc, argv, opts)) {
    std::cerr << "usage: echo_client [--port P] [--connections N]\n";
    return 2;
  }
  auto const port = opts.port;
  int const connections = opts.connections;

  asio::io_context ioc;
  tcp::endpoint server{asio::ip::address_v4::loopback(), port};
  futura::future<echo::stats> own_server;  // the demo's
  tcp::acceptor acceptor(ioc);
  if (port == 0) {
    acceptor = tcp::acceptor(ioc, server);
    server = acceptor.local_endpoint();
    own_server = futura::create_task(ioc, echo::serve(acceptor, connections));
  }

  futura::future<int> client = futura::create_task(ioc, run_client(server, connections));
  ioc.run();

  if (own_server.valid()) {
    echo::stats const s = own_server.result();
    std::cout << "server: " << s.served << " served, " << s.failed << " failed\n";
  }
  return client.result();
}
