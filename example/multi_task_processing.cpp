// C++ twin of the Python multi-task processing program:
// ThreadPoolExecutor(max_workers=3), submit + add_done_callback on four tasks, a main loop
// polling done() every 0.1 s, then as_completed over what is left (nothing).
//
//   multi_task_processing [--seed N]       the program (unseeded: std::random_device)
//   multi_task_processing --selftest N...  Python's random module, checked by
//                                          scripts/check_python_random.py
//
// The Python program draws its sleep times and failures from `random`, unseeded. To compare
// the two runs line by line, the test seeds Python with `random.seed(N)` and the twin with
// `--seed N`, and the twin reproduces CPython's random module bit for bit, in the same order
// of draws: each task draws its sleep time when it starts and its failure when it wakes, so
// the order follows the tasks' timing, as in Python.
#include <futura/as_completed.hpp>  // not in futura.hpp (yet)
#include <futura/futura.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <syncstream>
#include <thread>
#include <utility>
#include <vector>

namespace {

/// CPython's random.Random (Modules/_randommodule.c and Lib/random.py): MT19937 seeded as
/// `random.seed(int)` seeds it, and the few functions the program uses.
class python_random {
 public:
  /// random.seed(n) for an int: init_by_array over the 32-bit words of abs(n), low first.
  void seed(std::uint64_t n) {
    std::array<std::uint32_t, 2> key{static_cast<std::uint32_t>(n),
                                     static_cast<std::uint32_t>(n >> 32)};
    init_by_array(std::span(key.data(), key[1] ? 2 : 1));  // 0 still takes one word
  }
  /// random.seed() without an argument: as many random words as the state holds.
  void seed_randomly() {
    std::random_device dev;
    std::array<std::uint32_t, n_> key;
    for (auto& k : key) k = dev();
    init_by_array(key);
  }

  /// random(): 53 random bits in [0, 1), from two 32-bit outputs (genrand_res53).
  double random() {
    std::uint32_t const a = genrand_uint32() >> 5, b = genrand_uint32() >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
  }
  /// uniform(a, b) = a + (b - a) * random().
  double uniform(double a, double b) { return a + (b - a) * random(); }
  /// getrandbits(k) for 0 < k <= 32.
  std::uint32_t getrandbits(int k) { return genrand_uint32() >> (32 - k); }
  /// _randbelow(n): getrandbits(n.bit_length()), rejecting values >= n.
  std::uint32_t randbelow(std::uint32_t n) {
    int const k = std::bit_width(n);
    std::uint32_t r = getrandbits(k);
    while (r >= n) r = getrandbits(k);
    return r;
  }
  /// choice(seq) = seq[_randbelow(len(seq))].
  template <class T>
  T const& choice(std::span<T const> seq) {
    return seq[randbelow(static_cast<std::uint32_t>(seq.size()))];
  }

 private:
  static constexpr std::size_t n_ = 624, m_ = 397;

  void init_genrand(std::uint32_t s) {
    mt_[0] = s;
    for (std::size_t i = 1; i < n_; ++i)
      mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
    mti_ = n_;
  }
  void init_by_array(std::span<std::uint32_t const> key) {
    init_genrand(19650218u);
    std::size_t i = 1, j = 0;
    for (std::size_t k = std::max(n_, key.size()); k; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] +
               static_cast<std::uint32_t>(j);
      ++i, ++j;
      if (i >= n_) mt_[0] = mt_[n_ - 1], i = 1;
      if (j >= key.size()) j = 0;
    }
    for (std::size_t k = n_ - 1; k; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) -
               static_cast<std::uint32_t>(i);
      if (++i >= n_) mt_[0] = mt_[n_ - 1], i = 1;
    }
    mt_[0] = 0x80000000u;  // non-zero initial array
  }
  std::uint32_t genrand_uint32() {
    constexpr std::uint32_t upper = 0x80000000u, lower = 0x7fffffffu, matrix_a = 0x9908b0dfu;
    if (mti_ >= n_) {
      for (std::size_t k = 0; k < n_; ++k) {
        std::uint32_t const y = (mt_[k] & upper) | (mt_[(k + 1) % n_] & lower);
        mt_[k] = mt_[(k + m_) % n_] ^ (y >> 1) ^ ((y & 1) ? matrix_a : 0);
      }
      mti_ = 0;
    }
    std::uint32_t y = mt_[mti_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
  }

  std::array<std::uint32_t, n_> mt_{};
  std::size_t mti_ = n_ + 1;
};

/// The program's `random` module, shared by the workers: one generator behind a mutex.
///
/// Python's pool starts a thread per submit and each new thread reaches its first draw
/// before the main thread submits the next task (thread.start() waits for the thread, and
/// the GIL lets it run on), so Task1, Task2 and Task3 draw their sleep times in submission
/// order. This pool's three threads are all waiting already and would race for the
/// generator, so the draws at a task's start take turns in submission order. Every other
/// draw happens when the tasks' timing says, as in Python.
class random_module {
 public:
  void seed(std::uint64_t n) { rng_.seed(n); }
  void seed_randomly() { rng_.seed_randomly(); }

  /// The draw a task makes first, on turn `turn` (its submission index), and its "Starting"
  /// line, printed in the same turn.
  double starting_uniform(std::size_t turn, std::string const& name, double a, double b) {
    std::unique_lock lock(mutex_);
    turn_done_.wait(lock, [&] { return next_turn_ == turn; });
    double const d = rng_.uniform(a, b);
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", d);  // Python's f"{d:.2f}": correctly rounded
    std::osyncstream(std::cout) << '[' << name << "] Starting, will take " << text << "s\n";
    ++next_turn_;
    turn_done_.notify_all();
    return d;
  }
  bool choice(std::span<bool const> seq) {
    std::lock_guard lock(mutex_);
    return rng_.choice(seq);
  }

 private:
  std::mutex mutex_;
  std::condition_variable turn_done_;
  std::size_t next_turn_ = 0;
  python_random rng_;
};

random_module random_numbers;

/// Simulates a task: sleeps 0.5-2 seconds, optionally raises an exception.
std::string task(std::size_t turn, std::string const& name, bool fail) {
  double const sleep_time = random_numbers.starting_uniform(turn, name, 0.5, 2.0);
  std::this_thread::sleep_for(std::chrono::duration<double>(sleep_time));
  constexpr std::array<bool, 2> true_false{true, false};
  if (fail && random_numbers.choice(true_false))
    throw std::invalid_argument("Task " + name + " failed randomly!");  // ValueError
  std::osyncstream(std::cout) << '[' << name << "] Finished\n";
  return name + " result";
}

/// Called when a future is done.
void done_callback(futura::future<std::string> const& fut) {
  try {
    auto const& result = fut.result();
    std::osyncstream(std::cout) << "[Callback] Result: " << result << '\n';
  } catch (std::exception const& e) {
    std::osyncstream(std::cout) << "[Callback] Task raised exception: " << e.what() << '\n';
  }
}

/// --selftest N...: per seed, the draws scripts/check_python_random.py computes with
/// Python's own random module (floats as %.17g: every bit of the double).
int selftest(std::span<std::uint64_t const> seeds, std::span<std::string const> texts) {
  constexpr std::array<bool, 2> true_false{true, false};
  constexpr std::array<int, 5> five{0, 1, 2, 3, 4};
  for (std::size_t s = 0; s < seeds.size(); ++s) {
    python_random r;
    r.seed(seeds[s]);
    char u[32], x[32];
    std::snprintf(u, sizeof u, "%.17g", r.uniform(0.5, 2.0));
    std::string line = "seed " + texts[s] + ": " + u;
    for (int i = 0; i < 6; ++i)
      line += r.choice(std::span<bool const>(true_false)) ? " True" : " False";
    for (int i = 0; i < 4; ++i) line += " " + std::to_string(r.choice(std::span<int const>(five)));
    std::snprintf(x, sizeof x, "%.17g", r.random());
    std::cout << line << ' ' << x << '\n';
  }
  return 0;
}

/// abs() of a decimal int that fits in 64 bits, as random.seed takes it.
std::uint64_t parse_seed(std::string_view text) {
  std::string_view digits = text.substr(!text.empty() && text[0] == '-');
  std::uint64_t n = 0;
  auto const [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
    throw std::invalid_argument("not a seed: " + std::string(text));
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> const args(argv + 1, argv + argc);
  try {
    if (!args.empty() && args[0] == "--selftest") {
      std::vector<std::uint64_t> seeds;
      for (std::size_t i = 1; i < args.size(); ++i) seeds.push_back(parse_seed(args[i]));
      return selftest(seeds, std::span(args).subspan(1));
    }
    if (args.size() == 2 && args[0] == "--seed")
      random_numbers.seed(parse_seed(args[1]));
    else if (args.empty())
      random_numbers.seed_randomly();
    else
      throw std::invalid_argument("usage: multi_task_processing [--seed N | --selftest N...]");
  } catch (std::invalid_argument const& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }

  std::vector<std::pair<std::string, bool>> const tasks{
      {"Task1", false}, {"Task2", true}, {"Task3", false}, {"Task4", true}};

  futura::thread_pool_executor executor{{.max_workers = 3}};
  // Submit tasks and attach callback
  std::vector<futura::future<std::string>> futures;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    auto fut = executor.submit(task, i, tasks[i].first, tasks[i].second);
    fut.add_done_callback(done_callback);
    futures.push_back(fut);
  }

  std::osyncstream(std::cout) << "\nPolling futures for completion...\n";
  while (!futures.empty()) {
    // Python removes from the list it is iterating over, so its loop skips the future after
    // each one it removes (until the next poll); this loop does the same.
    for (std::size_t i = 0; i < futures.size(); ++i) {
      if (futures[i].done()) {
        try {
          auto const& result = futures[i].result();
          std::osyncstream(std::cout) << "[Main Loop] Got result: " << result << '\n';
        } catch (std::exception const& e) {
          std::osyncstream(std::cout) << "[Main Loop] Got exception: " << e.what() << '\n';
        }
        futures.erase(futures.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  std::osyncstream(std::cout)
      << "\nUsing as_completed to process remaining futures (should be empty now):\n";
  for (auto const& fut : futura::as_completed(futures)) {
    try {
      std::osyncstream(std::cout) << "Result: " << fut.result() << '\n';
    } catch (std::exception const& e) {
      std::osyncstream(std::cout) << "Exception: " << e.what() << '\n';
    }
  }
}  // ~thread_pool_executor: shutdown(wait=true), the end of Python's `with` block
