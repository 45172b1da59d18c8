// futura::mpi beside bench/mpi4py_bench.py: the same trivial remote call, the same
// measurements, the same output format, so that one mpirun each gives the ratios.
//
//   mpirun --oversubscribe -np 3 build/normal/bench/bench_mpi [N] [--in-flight K] [--busy-poll US]
//   [--backoff US]
//
// submit_result: N submits, then every result in order (throughput through the executor);
// submit_wait_each: submit one, wait for its result, N / 10 times (round-trip latency);
// map_chunk100: map(f, 0..N*10, chunksize 100), consumed in order;
// idle_wait_1s: one remote call that sleeps for a second: what the root burns waiting;
// idle_nothing_out_1s: the root's own work for a second, no call out: what the executor costs.
// root-cpu is the root process's CPU time (every thread, getrusage) over the wall time.
#include <futura/mpi.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

int trivial(int x) {
  return x + 1;
}
void sleep_for_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

double cpu_seconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

template <class Body>
void measure(char const* name, long tasks, Body body) {
  auto const c0 = cpu_seconds();
  auto const t0 = std::chrono::steady_clock::now();
  body();
  double const t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double const c = cpu_seconds() - c0;
  std::printf("%s %ld tasks %.3f s %.0f tasks/s root-cpu %.0f%%\n", name, tasks, t,
              static_cast<double>(tasks) / t, 100 * c / t);
  std::fflush(stdout);
}

}  // namespace

FUTURA_MPI_REGISTER(trivial);
FUTURA_MPI_REGISTER(sleep_for_ms);

int main(int argc, char** argv) {
  futura::mpi::environment env(argc, argv);
  long n = 20000;
  futura::mpi::executor_options options;
  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    if (a == "--in-flight" && i + 1 < argc)
      options.max_in_flight = std::atoi(argv[++i]);
    else if (a == "--busy-poll" && i + 1 < argc)
      options.busy_poll = std::chrono::microseconds(std::atol(argv[++i]));
    else if (a == "--backoff" && i + 1 < argc)
      options.max_backoff = std::chrono::microseconds(std::atol(argv[++i]));
    else
      n = std::atol(argv[i]);
  }
  using futura::mpi::remote;
  futura::mpi::run(
      [&](futura::mpi::executor& ex) {
        ex.submit(remote<trivial>, 0).result();  // workers up
        measure("submit_result", n, [&] {
          std::vector<futura::future<int>> fs;
          fs.reserve(static_cast<std::size_t>(n));
          for (long i = 0; i < n; ++i)
            fs.push_back(ex.submit(remote<trivial>, static_cast<int>(i)));
          for (auto& f : fs) f.result();
        });
        measure("submit_wait_each", n / 10, [&] {
          for (long i = 0; i < n / 10; ++i)
            ex.submit(remote<trivial>, static_cast<int>(i)).result();
        });
        measure("map_chunk100", n * 10, [&] {
          std::vector<int> in(static_cast<std::size_t>(n * 10));
          for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i);
          long sum = 0;
          for (int r : ex.map(remote<trivial>, in, 100)) sum += r;
          if (sum == 0) std::puts("impossible");
        });
        measure("idle_wait_1s", 1, [&] { ex.submit(remote<sleep_for_ms>, 1000).result(); });
        measure("idle_nothing_out_1s", 0,
                [&] { std::this_thread::sleep_for(std::chrono::seconds(1)); });
      },
      options);
}
