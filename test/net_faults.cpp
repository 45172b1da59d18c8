// Networking under faults, on loopback. The echo server of example/echo.hpp with a few
// hundred clients at once, a fifth of them killed mid-stream with a TCP reset: every live
// client gets exactly its bytes back, the server keeps serving, and every session's future
// ends (the server's own task only returns once each has). And a Beast client of a server
// that never answers: its timeout ends the read at the deadline. FUTURA_STRESS_SCALE=N
// runs N times the clients.
#include "../example/echo.hpp"

#define BOOST_TEST_MODULE net_faults
#include <boost/test/unit_test.hpp>

#include <futura/futura.hpp>

#include "test_support.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

struct client_outcome {
  bool killed = false;
  std::size_t sent = 0;
  bool exact = false;  // a live client got back exactly what it sent
};

/// One client: sends its payload; a live one then half-closes and reads everything back,
/// a killed one resets the connection halfway through.
asio::awaitable<client_outcome> client(tcp::endpoint server, int i, bool killed) {
  client_outcome out{.killed = killed};
  tcp::socket s(co_await asio::this_coro::executor);
  auto connected = s.async_connect(server, futura::use_future);
  co_await connected;
  std::string payload(static_cast<std::size_t>(1 + i % 16) * 1000, 'a');
  for (std::size_t k = 0; k < payload.size(); ++k)
    payload[k] = static_cast<char>('a' + (k * 7 + static_cast<std::size_t>(i)) % 26);
  if (killed) {
    auto half =
        asio::async_write(s, asio::buffer(payload.data(), payload.size() / 2), futura::use_future);
    out.sent = co_await half;
    s.set_option(tcp::socket::linger(true, 0));  // close() now sends a reset
    s.close();
    co_return out;
  }
  auto all = asio::async_write(s, asio::buffer(payload), futura::use_future);
  out.sent = co_await all;
  s.shutdown(tcp::socket::shutdown_send);
  std::string got;
  auto back = asio::async_read(s, asio::dynamic_buffer(got), asio::as_tuple(futura::use_future));
  auto [ec, n] = co_await back;  // until the server closes: eof
  out.exact = ec == asio::error::eof && got == payload;
  co_return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_live_client_gets_its_bytes_while_a_fifth_are_reset_mid_stream) {
  int const clients = static_cast<int>(test_support::stress_scaled(300, 5));
  asio::io_context server_loop;
  tcp::acceptor acceptor(server_loop, {asio::ip::address_v4::loopback(), 0});
  auto const endpoint = acceptor.local_endpoint();
  auto server = futura::create_task(server_loop, echo::serve(acceptor, clients));
  std::thread a([&] { server_loop.run(); }), b([&] { server_loop.run(); });

  asio::io_context client_loop;
  std::vector<futura::future<client_outcome>> outcomes;
  int killed = 0;
  for (int i = 0; i < clients; ++i) {
    bool const kill = i % 5 == 2;
    killed += kill;
    outcomes.push_back(futura::create_task(client_loop, client(endpoint, i, kill)));
  }
  client_loop.run();
  a.join();
  b.join();

  int exact = 0;
  for (auto& f : outcomes) {
    auto const& o = f.result();
    if (!o.killed) exact += o.exact;
  }
  BOOST_TEST(exact == clients - killed);  // every live client, every byte
  echo::stats const s = server.result();  // every session's future ended
  BOOST_TEST(s.served + s.failed == clients);
  BOOST_TEST(s.failed == killed);  // each reset session ends with its error, and only those
  BOOST_TEST_MESSAGE("echo under faults: " << clients << " clients, " << killed
                                           << " reset mid-stream, " << s.bytes << " bytes echoed");
}

// Issue 8: Beast's operations name no executor; futura finds the stream among their
// arguments, so cancelling the future really stops the read, and wait_for ends at its
// deadline (a silent server hung such a client for minutes).
BOOST_AUTO_TEST_CASE(a_beast_read_from_a_silent_server_ends_at_the_wait_for_deadline) {
  namespace http = boost::beast::http;
  asio::io_context ioc;
  tcp::acceptor silent(ioc, {asio::ip::address_v4::loopback(), 0});
  tcp::socket accepted(ioc);
  silent.async_accept(accepted, [](boost::system::error_code) {});  // then says nothing
  auto started = std::chrono::steady_clock::now();
  bool read_cancelled = false;
  auto client = futura::create_task(ioc, [&]() -> asio::awaitable<bool> {
    tcp::socket s(co_await asio::this_coro::executor);
    auto connected = s.async_connect(silent.local_endpoint(), futura::use_future);
    co_await connected;
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    auto read = http::async_read(s, buf, res, futura::use_future);
    try {
      co_await futura::wait_for(read, std::chrono::milliseconds(50));
    } catch (futura::timeout_error const&) {
      read_cancelled = read.cancelled();  // stopped and waited for: the buffer is safe
      co_return true;
    }
    co_return false;
  });
  ioc.run_for(std::chrono::seconds(20));
  BOOST_TEST(client.result());
  BOOST_TEST(read_cancelled);
  BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds(10)));
}
