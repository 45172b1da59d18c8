// π by Monte Carlo: 4,000 remote calls, each counting the random points of the unit square
// that fall in the quarter disc, gathered by a coroutine on the root's io_context while a
// local Asio timer ticks beside it: the remote futures are awaited like any other.
//
//   mpirun -np 4 ./mpi_monte_carlo   (rank 0 awaits, ranks 1-3 throw the darts)
//
// Each call seeds its own generator with its index, so the estimate is the same whichever
// worker runs which call, and on any number of workers.
#include <futura/gather.hpp>
#include <futura/loop.hpp>
#include <futura/mpi.hpp>
#include <futura/use_future.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <numbers>
#include <numeric>
#include <random>
#include <vector>

using namespace std::chrono_literals;

std::uint64_t darts_inside(std::uint64_t seed, std::uint32_t darts) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::uint64_t inside = 0;
  for (std::uint32_t i = 0; i < darts; ++i) {
    double const x = u(gen), y = u(gen);
    inside += x * x + y * y <= 1.0;
  }
  return inside;
}
FUTURA_MPI_REGISTER(darts_inside);

constexpr std::uint32_t calls = 4000;
constexpr std::uint32_t darts_per_call = 10000;

/// Ticks every 50 ms until `done`, saying how far the calls are: the loop is never blocked.
boost::asio::awaitable<int> ticker(std::vector<futura::future<std::uint64_t>> const& parts,
                                   futura::future<std::vector<std::uint64_t>> done) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  int ticks = 0;
  while (!done.done()) {
    timer.expires_after(50ms);
    futura::future<void> tick = timer.async_wait(futura::use_future);
    co_await tick;
    auto const finished =
        std::count_if(parts.begin(), parts.end(), [](auto const& f) { return f.done(); });
    std::clog << "timer: " << finished << " of " << parts.size() << " calls done" << std::endl;
    ++ticks;
  }
  co_return ticks;
}

boost::asio::awaitable<double> estimate(futura::mpi::executor& ex) {
  std::vector<futura::future<std::uint64_t>> parts;
  for (std::uint32_t i = 0; i < calls; ++i)
    parts.push_back(ex.submit(futura::mpi::remote<darts_inside>, std::uint64_t{i}, darts_per_call));
  auto all = futura::gather(parts);  // future<std::vector<std::uint64_t>>
  auto ticks = futura::create_task(co_await boost::asio::this_coro::executor, ticker(parts, all));
  std::vector<std::uint64_t> const inside = co_await all;
  co_await ticks;
  auto const total = std::accumulate(inside.begin(), inside.end(), std::uint64_t{0});
  co_return 4.0 * static_cast<double>(total) / (double{calls} * darts_per_call);
}

int main(int argc, char** argv) {
  futura::mpi::environment env(argc, argv);
  futura::mpi::run([](futura::mpi::executor& ex) {
    boost::asio::io_context io;
    auto pi = futura::create_task(io, estimate(ex));
    io.run();
    std::cout << calls << " remote calls, " << std::uint64_t{calls} * darts_per_call
              << " darts: pi is about " << std::fixed << std::setprecision(5) << pi.result()
              << " (off by " << std::setprecision(5) << std::abs(pi.result() - std::numbers::pi)
              << ")\n";
  });
}
