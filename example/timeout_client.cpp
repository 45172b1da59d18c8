// timeout_client: concurrent requests, each with its own timeout (futura::wait_for), against
// a local server that answers some at once, some late, some never, and drops others. A
// timed-out request is cancelled (its socket read really stops); a refused or reset
// connection is an error for that request alone; the others carry on.
//
//   timeout_client [--timeout MS]     demo on loopback; the timeout defaults to 300 ms
//
// The server reads one line per connection:
//   echo TEXT         answers TEXT at once
//   sleep MS TEXT     answers TEXT after MS milliseconds, unless the client has left
//   silent            never answers; waits for the client to leave
//   reset             aborts the connection (TCP RST)
//   close             closes the connection without an answer
#include <futura/futura.hpp>

#include <boost/asio.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// ---- the server ---------------------------------------------------------------------------

asio::awaitable<void> answer(tcp::socket sock) {
  std::string line;
  std::size_t n =
      co_await asio::async_read_until(sock, asio::dynamic_buffer(line), '\n', futura::use_future);
  std::istringstream in(line.substr(0, n - 1));
  std::string verb, text;
  int ms = 0;
  in >> verb;
  if (verb == "sleep") in >> ms;
  std::getline(in >> std::ws, text);

  if (verb == "sleep") {
    // Wait, but stop as soon as the client leaves: a one-byte read that only completes when
    // it closes, bounded by wait_for (which cancels the read when the time is up).
    char byte;
    auto gone = sock.async_read_some(asio::buffer(&byte, 1), futura::use_future);
    bool late = false;
    try {
      co_await futura::wait_for(gone, std::chrono::milliseconds(ms));
    } catch (futura::timeout_error const&) {
      late = true;
    }
    if (!late) co_return;
  } else if (verb == "silent") {
    std::string ignored;
    co_await asio::async_read(sock, asio::dynamic_buffer(ignored), futura::use_future);  // EOF
  } else if (verb == "reset") {
    sock.set_option(tcp::socket::linger(true, 0));
    sock.close();
    co_return;
  } else if (verb == "close") {
    sock.shutdown(tcp::socket::shutdown_both);
    co_return;
  }
  text += '\n';
  co_await asio::async_write(sock, asio::buffer(text), futura::use_future);
}

/// Answers `connections` clients, each in a task of its own; returns when all are done.
asio::awaitable<void> serve(tcp::acceptor& acceptor, int connections) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<futura::future<void>> sessions;
  for (int i = 0; i < connections; ++i)
    sessions.push_back(
        futura::create_task(ex, answer(co_await acceptor.async_accept(futura::use_future))));
  for (auto& s : sessions) {
    try {
      co_await s;
    } catch (std::exception const&) {  // the client left first (EOF, reset): its business
    }
  }
}

// ---- the client ---------------------------------------------------------------------------

/// One request: connect, send a line, read the one-line answer.
asio::awaitable<std::string> ask(tcp::endpoint server, std::string line) {
  tcp::socket sock(co_await asio::this_coro::executor);
  co_await sock.async_connect(server, futura::use_future);
  line += '\n';
  co_await asio::async_write(sock, asio::buffer(line), futura::use_future);
  std::string reply;
  std::size_t n =
      co_await asio::async_read_until(sock, asio::dynamic_buffer(reply), '\n', futura::use_future);
  reply.resize(n - 1);
  co_return reply;
}

/// One request under a timeout, described in one line whatever happens.
asio::awaitable<std::string> attempt(tcp::endpoint server, std::string line,
                                     std::chrono::milliseconds timeout) {
  auto request = futura::create_task(co_await asio::this_coro::executor, ask(server, line));
  try {
    std::string reply = co_await futura::wait_for(request, timeout);
    co_return "ok, \"" + reply + "\"";
  } catch (futura::timeout_error const&) {
    co_return "timed out after " + std::to_string(timeout.count()) + " ms (" +
        (request.cancelled() ? "cancelled" : "still running") + ")";
  } catch (boost::system::system_error const& e) {
    co_return "error: " + e.code().message();
  }
}

asio::awaitable<int> run_demo(std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::acceptor acceptor(ex, {asio::ip::address_v4::loopback(), 0});
  tcp::socket refusing(ex);  // bound but never listening: connecting to it is refused
  refusing.open(tcp::v4());
  refusing.bind({asio::ip::address_v4::loopback(), 0});

  struct request {
    std::string line;
    tcp::endpoint to;
  };
  std::vector<request> const requests = {
      {"echo hello", acceptor.local_endpoint()},
      {"sleep 20 quick enough", acceptor.local_endpoint()},
      {"sleep 5000 too late", acceptor.local_endpoint()},
      {"silent", acceptor.local_endpoint()},
      {"reset", acceptor.local_endpoint()},
      {"close", acceptor.local_endpoint()},
      {"echo anyone there?", refusing.local_endpoint()},
  };
  auto server = futura::create_task(ex, serve(acceptor, static_cast<int>(requests.size()) - 1));

  std::vector<futura::future<std::string>> outcomes;  // all in flight at once
  for (auto const& r : requests)
    outcomes.push_back(futura::create_task(ex, attempt(r.to, r.line, timeout)));

  for (std::size_t i = 0; i < requests.size(); ++i) {
    std::string const to = requests[i].to == refusing.local_endpoint() ? " (refused port)" : "";
    std::cout << "request " << i + 1 << " \"" << requests[i].line << "\"" << to << ": "
              << co_await outcomes[i] << '\n';
  }
  co_await server;
  co_return 0;
}

int main(int argc, char** argv) {
  auto timeout = 300ms;
  if (argc == 3 && std::string_view(argv[1]) == "--timeout") {
    timeout = std::chrono::milliseconds(std::atoi(argv[2]));
  } else if (argc != 1) {
    std::cerr << "usage: timeout_client [--timeout MS]\n";
    return 2;
  }
  return futura::run(run_demo(timeout));
}
