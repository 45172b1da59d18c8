// example/echo.hpp: the echo server of echo_server and echo_client. Every socket operation
// takes futura::use_future and so returns a futura::future, which the coroutine co_awaits.
#ifndef FUTURA_EXAMPLE_ECHO_HPP
#define FUTURA_EXAMPLE_ECHO_HPP

#include <futura/futura.hpp>

#include <boost/asio.hpp>

#include <array>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <string_view>
#include <vector>

namespace echo {

namespace asio = boost::asio;
using asio::ip::tcp;

/// Sends back whatever arrives until the peer closes; returns the number of bytes echoed.
inline asio::awaitable<std::size_t> session(tcp::socket sock) {
  std::array<char, 4096> buf;
  std::size_t total = 0;
  try {
    for (;;) {
      std::size_t n = co_await sock.async_read_some(asio::buffer(buf), futura::use_future);
      co_await asio::async_write(sock, asio::buffer(buf.data(), n), futura::use_future);
      total += n;
    }
  } catch (boost::system::system_error const& e) {
    if (e.code() != asio::error::eof) throw;  // a real error lands in the session's future
  }
  co_return total;
}

struct stats {
  int served = 0;
  int failed = 0;
  std::size_t bytes = 0;
};

/// Accepts `connections` clients, serves each in a task of its own, and returns once every
/// session has ended.
inline asio::awaitable<stats> serve(tcp::acceptor& acceptor, int connections) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<futura::future<std::size_t>> sessions;
  while (static_cast<int>(sessions.size()) < connections) {
    tcp::socket sock = co_await acceptor.async_accept(futura::use_future);
    sessions.push_back(futura::create_task(ex, session(std::move(sock))));
  }
  stats s;
  for (auto& f : sessions) {
    try {
      s.bytes += co_await f;
      ++s.served;
    } catch (std::exception const&) {
      ++s.failed;
    }
  }
  co_return s;
}

/// `--port P --connections N`, shared by both programs; false on anything else.
struct options {
  unsigned short port = 0;
  int connections;
};
inline bool parse_options(int argc, char** argv, options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view const opt = argv[i];
    if (opt == "--port")
      o.port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
    else if (opt == "--connections")
      o.connections = std::atoi(argv[i + 1]);
    else
      return false;
  }
  return true;
}

}  // namespace echo

#endif
