// http_fetch: fetches URLs concurrently over HTTP/1.1 with Boost.Beast. Every step (resolve,
// connect, write, read) takes futura::use_future; each fetch is a task, and its future gives
// the response or the error of that fetch alone.
//
//   http_fetch            demo: starts a Beast server of its own on a loopback port and
//                         fetches five URLs from it at once, one of them a 404, plus one
//                         from a port that refuses connections
//   http_fetch URL...     fetches http://host[:port]/path URLs; exits 1 if any fails
#include <futura/futura.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

// ---- the server ---------------------------------------------------------------------------

/// One request, one response, then the server closes (no keep-alive, for brevity).
asio::awaitable<void> respond(tcp::socket sock) {
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  co_await http::async_read(sock, buf, req, futura::use_future);

  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "futura-example");
  res.set(http::field::content_type, "text/plain");
  if (req.target() == "/")
    res.body() = "futura http_fetch demo\n";
  else if (req.target() == "/hello")
    res.body() = "Hello, world!\n";
  else if (req.target() == "/big")
    res.body() = std::string(256 * 1024, '*');
  else
    res.result(http::status::not_found), res.body() = "no such page\n";
  res.keep_alive(false);
  res.prepare_payload();
  co_await http::async_write(sock, res, futura::use_future);
  sock.shutdown(tcp::socket::shutdown_send);
}

/// Serves until cancelled: the demo cancels this task when it has fetched everything.
asio::awaitable<void> serve(tcp::acceptor& acceptor) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) futura::create_task(ex, respond(co_await acceptor.async_accept(futura::use_future)));
}

// ---- the client ---------------------------------------------------------------------------

struct url {
  std::string host, port, target;
};

/// "http://host[:port][/path]"; nullopt for anything else.
std::optional<url> parse(std::string const& s) {
  std::string const scheme = "http://";
  if (s.rfind(scheme, 0) != 0) return std::nullopt;
  auto const rest = s.substr(scheme.size());
  auto const slash = rest.find('/');
  auto const authority = rest.substr(0, slash);
  auto const colon = authority.rfind(':');
  url u{authority.substr(0, colon), colon == std::string::npos ? "80" : authority.substr(colon + 1),
        slash == std::string::npos ? "/" : rest.substr(slash)};
  if (u.host.empty()) return std::nullopt;
  return u;
}

asio::awaitable<http::response<http::string_body>> fetch(url u) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(u.host, u.port, futura::use_future);
  tcp::socket sock(ex);
  co_await asio::async_connect(sock, endpoints, futura::use_future);

  http::request<http::empty_body> req{http::verb::get, u.target, 11};
  req.set(http::field::host, u.host);
  req.set(http::field::user_agent, "futura-http-fetch");
  co_await http::async_write(sock, req, futura::use_future);

  beast::flat_buffer buf;
  http::response<http::string_body> res;
  co_await http::async_read(sock, buf, res, futura::use_future);
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  co_return res;
}

/// Fetches every URL at once and prints one line per URL, in the order given. Returns the
/// number of failures (errors and non-2xx answers).
asio::awaitable<int> fetch_all(std::vector<std::string> urls) {
  auto ex = co_await asio::this_coro::executor;
  std::vector<futura::future<http::response<http::string_body>>> responses;
  for (auto const& s : urls) {
    if (auto u = parse(s)) {
      responses.push_back(futura::create_task(ex, fetch(*u)));
    } else {
      responses.push_back(futura::create_future<http::response<http::string_body>>(ex));
      responses.back().set_exception(std::invalid_argument("not an http:// URL"));
    }
  }

  int failures = 0;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    std::cout << "GET " << urls[i] << " -> ";
    try {
      auto const& res = co_await responses[i];
      std::cout << res.result_int() << ' ' << res.reason() << ", " << res.body().size()
                << " bytes\n";
      failures += http::to_status_class(res.result()) == http::status_class::successful ? 0 : 1;
    } catch (boost::system::system_error const& e) {
      std::cout << "error: " << e.code().message() << '\n';
      ++failures;
    } catch (std::exception const& e) {
      std::cout << "error: " << e.what() << '\n';
      ++failures;
    }
  }
  co_return failures;
}

asio::awaitable<int> demo() {
  auto ex = co_await asio::this_coro::executor;
  tcp::acceptor acceptor(ex, {asio::ip::address_v4::loopback(), 0});
  auto server = futura::create_task(ex, serve(acceptor));
  tcp::socket refusing(ex);  // bound but never listening: connecting to it is refused
  refusing.open(tcp::v4());
  refusing.bind({asio::ip::address_v4::loopback(), 0});

  std::string const base = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  std::vector<std::string> urls = {
      base + "/",
      base + "/hello",
      base + "/big",
      base + "/missing",
      "http://127.0.0.1:" + std::to_string(refusing.local_endpoint().port()) + "/",
  };
  int const failures = co_await fetch_all(std::move(urls));
  std::cout << failures << " of 5 failed, as expected: a 404 and a refused port\n";

  server.cancel();  // stops the pending accept: the server's task ends cancelled
  co_await server.async_wait(asio::as_tuple(asio::use_awaitable));
  std::cout << "server: " << server << '\n';
  co_return failures == 2 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 1) return futura::run(demo());
  std::vector<std::string> urls(argv + 1, argv + argc);
  return futura::run(fetch_all(std::move(urls))) == 0 ? 0 : 1;
}
