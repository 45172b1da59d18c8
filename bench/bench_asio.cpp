// futura as an Asio completion token, against Asio's own tokens, in one binary with the core.
//
//   await/*      one co_await inside an awaitable<> on a one-thread io_context (and a
//                loop future set by another handler of the loop: await/futura_loop_set,
//                beside its two-turn floor await/two_posts)
//   op_post/*    asio::post(io_context, token), one run_one() turn, then the result
//   op_timer/*   an expired steady_timer's async_wait(token), one run_one(), the result
//   tcp_echo/*   64 bytes there and back over a loopback TCP connection, client and echo
//                server as two coroutines on one io_context, both with the same token
//
// Every benchmark reports items_per_second (one item: one await, one operation, one round
// trip) and a label naming the contender; bench/ratios.py computes the ratios from
// the "<group>/<contender>" names.

#include <futura/future.hpp>
#include <futura/loop.hpp>
#include <futura/use_future.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <future>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

/// Runs `body(state)` as a coroutine on a fresh one-thread io_context, to the end.
template <class Body>
void run_coroutine(benchmark::State& state, Body body) {
  asio::io_context ioc(1);
  asio::co_spawn(ioc, body(state), asio::detached);
  ioc.run();
}

// ---------------------------------------------------------------------------------------
// 1. co_await. The peer: a round trip through the loop with Asio's own awaitable token. The
// futura contenders: a future that is already done (no suspension at all), and a future
// completed from the loop (the same post, its value reaching the coroutine through the
// future).

asio::awaitable<void> await_post_use_awaitable(benchmark::State& state) {
  auto ex = co_await asio::this_coro::executor;
  for (auto _ : state) co_await asio::post(ex, asio::use_awaitable);
}

asio::awaitable<void> await_futura_ready(benchmark::State& state) {
  futura::future<int> done = futura::create_future<int>();
  done.set_result(42);
  for (auto _ : state) benchmark::DoNotOptimize(co_await done);
}

asio::awaitable<void> await_futura_post(benchmark::State& state) {
  auto ex = co_await asio::this_coro::executor;
  for (auto _ : state) co_await asio::post(ex, futura::use_future);
}

// A loop future completed by another handler of the same loop: create_future(ex), a posted
// lambda sets it, the coroutine awaits it (asyncio's `fut = loop.create_future();
// loop.call_soon(fut.set_result, 1); await fut`). The waiter cannot resume inside
// set_result (asyncio's rule), so it takes a second turn of the loop.
asio::awaitable<void> await_futura_loop_set(benchmark::State& state) {
  auto ex = co_await asio::this_coro::executor;
  for (auto _ : state) {
    auto f = futura::create_future<int>(ex);
    asio::post(ex, [f] { f.set_result(1); });
    benchmark::DoNotOptimize(co_await f);
  }
}

// The floor of await/futura_loop_set for any design that keeps asyncio's rule: the same two
// turns of the loop with Asio alone (a posted handler, then the coroutine's own post), no
// future in between.
asio::awaitable<void> await_two_posts(benchmark::State& state) {
  auto ex = co_await asio::this_coro::executor;
  int seen = 0;
  for (auto _ : state) {
    asio::post(ex, [&seen] { ++seen; });
    co_await asio::post(ex, asio::use_awaitable);
  }
  benchmark::DoNotOptimize(seen);
}

void bench_await_post_use_awaitable(benchmark::State& state) {
  run_coroutine(state, await_post_use_awaitable);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("peer: co_await asio::post(ex, use_awaitable)");
}
void bench_await_futura_ready(benchmark::State& state) {
  run_coroutine(state, await_futura_ready);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("co_await of a done futura::future<int>");
}
void bench_await_futura_post(benchmark::State& state) {
  run_coroutine(state, await_futura_post);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("co_await asio::post(ex, futura::use_future)");
}

void bench_await_two_posts(benchmark::State& state) {
  run_coroutine(state, await_two_posts);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("floor of loop_set: a posted handler, then co_await post(use_awaitable)");
}

void bench_await_futura_loop_set(benchmark::State& state) {
  run_coroutine(state, await_futura_loop_set);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("create_future(ex), posted set_result, co_await");
}

BENCHMARK(bench_await_post_use_awaitable)->Name("await/post_use_awaitable");
BENCHMARK(bench_await_two_posts)->Name("await/two_posts");
BENCHMARK(bench_await_futura_loop_set)->Name("await/futura_loop_set");
BENCHMARK(bench_await_futura_ready)->Name("await/futura_ready");
BENCHMARK(bench_await_futura_post)->Name("await/futura_post");

// ---------------------------------------------------------------------------------------
// 2. One operation, from a plain thread: initiate with the token, let the loop complete it
// (one run_one(); a work guard keeps the io_context from stopping), read the result.

void op_post_callback(benchmark::State& state) {
  asio::io_context ioc(1);
  auto guard = asio::make_work_guard(ioc);
  int seen = 0;
  for (auto _ : state) {
    asio::post(ioc, [&seen] { ++seen; });
    ioc.run_one();
  }
  benchmark::DoNotOptimize(seen);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("floor: asio::post(ioc, callback)");
}

void op_post_futura(benchmark::State& state) {
  asio::io_context ioc(1);
  auto guard = asio::make_work_guard(ioc);
  for (auto _ : state) {
    futura::future<void> f = asio::post(ioc, futura::use_future);
    ioc.run_one();
    f.result();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("asio::post(ioc, futura::use_future) + result()");
}

void op_post_asio_use_future(benchmark::State& state) {
  asio::io_context ioc(1);
  auto guard = asio::make_work_guard(ioc);
  for (auto _ : state) {
    std::future<void> f = asio::post(ioc, asio::use_future);
    ioc.run_one();
    f.get();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("peer: asio::post(ioc, asio::use_future) + get()");
}

// An expired timer: the operation goes through the timer queue and the reactor.
auto const expired = asio::steady_timer::time_point::min();

void op_timer_callback(benchmark::State& state) {
  asio::io_context ioc(1);
  auto guard = asio::make_work_guard(ioc);
  asio::steady_timer timer(ioc);
  int seen = 0;
  for (auto _ : state) {
    timer.expires_at(expired);
    timer.async_wait([&seen](boost::system::error_code ec) { seen += !ec; });
    ioc.run_one();
  }
  benchmark::DoNotOptimize(seen);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("floor: timer.async_wait(callback)");
}

void op_timer_futura(benchmark::State& state) {
  asio::io_context ioc(1);
  auto guard = asio::make_work_guard(ioc);
  asio::steady_timer timer(ioc);
  for (auto _ : state) {
    timer.expires_at(expired);
    futura::future<void> f = timer.async_wait(futura::use_future);
    ioc.run_one();
    f.result();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("timer.async_wait(futura::use_future) + result()");
}

void op_timer_asio_use_future(benchmark::State& state) {
  asio::io_context ioc(1);
  auto guard = asio::make_work_guard(ioc);
  asio::steady_timer timer(ioc);
  for (auto _ : state) {
    timer.expires_at(expired);
    std::future<void> f = timer.async_wait(asio::use_future);
    ioc.run_one();
    f.get();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("peer: timer.async_wait(asio::use_future) + get()");
}

BENCHMARK(op_post_callback)->Name("op_post/callback");
BENCHMARK(op_post_futura)->Name("op_post/futura");
BENCHMARK(op_post_asio_use_future)->Name("op_post/asio_use_future");
BENCHMARK(op_timer_callback)->Name("op_timer/callback");
BENCHMARK(op_timer_futura)->Name("op_timer/futura");
BENCHMARK(op_timer_asio_use_future)->Name("op_timer/asio_use_future");

// ---------------------------------------------------------------------------------------
// 3. TCP echo round trip on loopback: the client writes 64 bytes and reads them back; the
// server coroutine reads and writes them back. Both use the same token, one io_context.

constexpr std::size_t message = 64;

/// A connected loopback pair: {client, server}.
std::array<tcp::socket, 2> connected_pair(asio::io_context& ioc) {
  tcp::acceptor acceptor(ioc, {asio::ip::address_v4::loopback(), 0});
  tcp::socket client(ioc), server(ioc);
  client.connect(acceptor.local_endpoint());
  acceptor.accept(server);
  client.set_option(tcp::no_delay(true));
  server.set_option(tcp::no_delay(true));
  return {std::move(client), std::move(server)};
}

template <class Token>
asio::awaitable<void> echo_server(tcp::socket sock, Token token) {
  std::array<char, message> buf;
  for (;;) {
    auto [ec, n] = co_await asio::async_read(sock, asio::buffer(buf), asio::as_tuple(token));
    if (ec) co_return;  // the client is gone
    co_await asio::async_write(sock, asio::buffer(buf, n), token);
  }
}

template <class Token>
asio::awaitable<void> echo_client(tcp::socket sock, Token token, benchmark::State& state) {
  std::array<char, message> buf{};
  for (auto _ : state) {
    co_await asio::async_write(sock, asio::buffer(buf), token);
    co_await asio::async_read(sock, asio::buffer(buf), token);
  }
  sock.close();
}

template <class Token>
void tcp_echo(benchmark::State& state, Token token, char const* label) {
  asio::io_context ioc(1);
  auto [client, server] = connected_pair(ioc);
  asio::co_spawn(ioc, echo_server(std::move(server), token), asio::detached);
  asio::co_spawn(ioc, echo_client(std::move(client), token, state), asio::detached);
  ioc.run();
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(label);
}

void tcp_echo_use_awaitable(benchmark::State& state) {
  tcp_echo(state, asio::use_awaitable, "peer: co_await op(use_awaitable)");
}
void tcp_echo_futura(benchmark::State& state) {
  tcp_echo(state, futura::use_future, "co_await op(futura::use_future)");
}

BENCHMARK(tcp_echo_use_awaitable)->Name("tcp_echo/use_awaitable");
BENCHMARK(tcp_echo_futura)->Name("tcp_echo/futura");

}  // namespace
