// futura::mpi::executor, run under `mpirun -np 4`: rank 0 submits, ranks 1-3 serve. Every
// test case is one futura::mpi::run() on every rank; the checks run in the body, on the
// root.
//
// Nothing here sleeps and hopes: a call that must stay running holds a worker on a gate,
// a file the root creates when the test lets it go (all ranks of this test share one
// host), and a call that must stay unsent waits behind the gates (max_in_flight = 1, three
// workers, three gates: no worker has room until a gate opens).
#include <futura/mpi.hpp>

#include <futura/as_completed.hpp>
#include <futura/gather.hpp>
#include <futura/loop.hpp>
#include <futura/promise.hpp>
#include <futura/thread_pool_executor.hpp>
#include <futura/use_future.hpp>
#include <futura/wait.hpp>

#define BOOST_TEST_MODULE futura_mpi_executor
#include <boost/test/unit_test.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/mpi/communicator.hpp>

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
using futura::mpi::remote;

// --- remote functions -------------------------------------------------------------------

int square(int x) {
  return x * x;
}
std::string greet(std::string const& name, int times) {
  std::string s;
  for (int i = 0; i < times; ++i) s += "hello " + name + "! ";
  return s;
}
std::vector<double> scale(std::vector<double> v, double k) {
  for (auto& x : v) x *= k;
  return v;
}
std::map<std::string, int> count_words(std::vector<std::string> const& words) {
  std::map<std::string, int> m;
  for (auto const& w : words) ++m[w];
  return m;
}

struct point {  // intrusive, public
  double x = 0, y = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    // clang-format off
    ar & x & y;  // Boost's operator&, not a reference
    // clang-format on
  }
  bool operator==(point const&) const = default;
};
point midpoint(point a, point b) {
  return {(a.x + b.x) / 2, (a.y + b.y) / 2};
}

class secret {  // intrusive, private, as Boost's documentation writes it
 public:
  secret() = default;
  explicit secret(int v) : v_(v) {}
  int value() const { return v_; }

 private:
  friend class boost::serialization::access;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    // clang-format off
    ar & v_;
    // clang-format on
  }
  int v_ = 0;
};
secret reveal(secret s) {
  return secret(s.value() + 1);
}

namespace geo {  // non-intrusive, found by ADL
struct area {
  double value = 0;
};
template <class Archive>
void serialize(Archive& ar, area& a, unsigned) {
  // clang-format off
  ar & a.value;
  // clang-format on
}
}  // namespace geo
geo::area double_area(geo::area a) {
  return {a.value * 2};
}

struct legacy {  // non-intrusive, in boost::serialization as Boost's documentation does it
  int v = 0;
};
namespace boost::serialization {
template <class Archive>
void serialize(Archive& ar, legacy& l, unsigned) {
  // clang-format off
  ar & l.v;
  // clang-format on
}
}  // namespace boost::serialization
legacy bump(legacy l) {
  return {l.v + 1};
}

std::optional<int> maybe_half(int x) {
  return x % 2 ? std::nullopt : std::optional<int>(x / 2);
}
std::tuple<int, std::string> tag(int x) {
  return {x, std::to_string(x)};
}
std::variant<int, std::string> either(int x) {
  return x < 0 ? std::variant<int, std::string>("negative") : std::variant<int, std::string>(x);
}
std::atomic<int> g_sink{0};
void store(int x) {
  g_sink = x;
}
int add(int a, int b) {
  return a + b;
}
int rank_of_worker() {
  return boost::mpi::communicator().rank();
}
int fails_at_500(int x) {
  if (x == 500) throw std::out_of_range("x == 500");
  return x * x;
}

namespace app {
struct custom_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace app

int throw_kind(int k) {
  switch (k) {
    case 0:
      throw std::invalid_argument("bad argument");
    case 1:
      throw std::out_of_range("index 7 out of range");
    case 2:
      throw std::runtime_error("runtime trouble");
    case 3:
      throw std::logic_error("logic trouble");
    case 4:
      throw std::range_error("range trouble");
    case 5:
      throw std::overflow_error("overflow trouble");
    case 6:
      throw std::bad_alloc();
    case 7:
      throw std::domain_error("domain trouble");
    case 8:
      throw std::length_error("length trouble");
    case 9:
      throw std::underflow_error("underflow trouble");
    case 10:
      throw std::system_error(std::make_error_code(std::errc::invalid_argument), "open");
    case 11:
      throw app::custom_error("custom trouble");
    case 12:
      throw 42;
    case 13:
      throw futura::timeout_error("remote timeout");
    default:
      return k;
  }
}

/// Holds its worker until `path` exists; returns the worker's rank.
int gate(std::string path) {
  while (!std::filesystem::exists(path)) std::this_thread::sleep_for(1ms);
  return boost::mpi::communicator().rank();
}

int only_on_the_root(int x) {
  return x;
}

FUTURA_MPI_REGISTER(square);
FUTURA_MPI_REGISTER(greet);
FUTURA_MPI_REGISTER(scale);
FUTURA_MPI_REGISTER(count_words);
FUTURA_MPI_REGISTER(midpoint);
FUTURA_MPI_REGISTER(reveal);
FUTURA_MPI_REGISTER(double_area);
FUTURA_MPI_REGISTER(bump);
FUTURA_MPI_REGISTER(maybe_half);
FUTURA_MPI_REGISTER(tag);
FUTURA_MPI_REGISTER(either);
FUTURA_MPI_REGISTER(store);
FUTURA_MPI_REGISTER(add);
FUTURA_MPI_REGISTER(rank_of_worker);
FUTURA_MPI_REGISTER(fails_at_500);
FUTURA_MPI_REGISTER(throw_kind);
FUTURA_MPI_REGISTER(gate);
FUTURA_MPI_REGISTER_AS(only_on_the_root, "only on the root");

// --- harness ----------------------------------------------------------------------------

std::vector<std::string>& gate_paths() {
  static std::vector<std::string> paths;
  return paths;
}

struct mpi_environment {
  futura::mpi::environment env;
  ~mpi_environment() {
    for (auto const& p : gate_paths()) std::filesystem::remove(p);
  }
};
BOOST_TEST_GLOBAL_FIXTURE(mpi_environment);

bool is_root() {
  return boost::mpi::communicator().rank() == 0;
}

/// One run() on every rank; `body` runs on the root only.
template <class Body>
void on_mpi(Body body, futura::mpi::executor_options options = {}) {
  bool ran = false;
  futura::mpi::run(
      [&](futura::mpi::executor& ex) {
        ran = true;
        body(ex);
      },
      options);
  BOOST_TEST(ran == is_root());
}

/// A gate for `gate` calls: opened by the root, removed when the program ends (a call may
/// still be on its way to it when the test body returns).
class gate_file {
 public:
  gate_file() {
    static int n = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("futura_mpi_gate_" + std::to_string(::getpid()) + "_" + std::to_string(n++)))
                .string();
    std::filesystem::remove(path_);
    gate_paths().push_back(path_);
  }
  std::string const& path() const { return path_; }
  void open() { std::ofstream(path_).put('x'); }

 private:
  std::string path_;
};

/// Waits until the progress thread has sent `f`'s call (it is then running).
template <class T>
void wait_until_sent(futura::future<T> const& f) {
  while (f.state() == futura::future_state::pending) std::this_thread::yield();
}

/// Three gates holding the three workers of a max_in_flight = 1 executor, sent.
std::vector<futura::future<int>> hold_every_worker(futura::mpi::executor& ex, gate_file& g) {
  BOOST_REQUIRE_EQUAL(ex.max_workers(), 3);
  std::vector<futura::future<int>> held;
  for (int i = 0; i < 3; ++i) held.push_back(ex.submit(remote<gate>, g.path()));
  for (auto const& h : held) wait_until_sent(h);
  return held;
}

// --- tests ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(submit_returns_the_remote_result_for_every_kind_of_type) {
  on_mpi([](futura::mpi::executor& ex) {
    BOOST_TEST(ex.max_workers() == 3);
    BOOST_TEST(ex.submit(remote<square>, 7).result() == 49);
    BOOST_TEST(ex.submit(remote<greet>, "futura", 2).result() == "hello futura! hello futura! ");
    BOOST_TEST(ex.submit(remote<scale>, std::vector<double>{1, 2.5}, 2.0).result() ==
               (std::vector<double>{2, 5}));
    auto words = ex.submit(remote<count_words>, std::vector<std::string>{"a", "b", "a"}).result();
    BOOST_TEST(words == (std::map<std::string, int>{{"a", 2}, {"b", 1}}));
    BOOST_TEST((ex.submit(remote<midpoint>, point{0, 0}, point{2, 4}).result() == point{1, 2}));
    BOOST_TEST(ex.submit(remote<reveal>, secret(41)).result().value() == 42);
    BOOST_TEST(ex.submit(remote<double_area>, geo::area{1.5}).result().value == 3.0);
    BOOST_TEST(ex.submit(remote<bump>, legacy{1}).result().v == 2);
    BOOST_TEST((ex.submit(remote<maybe_half>, 8).result() == std::optional<int>(4)));
    BOOST_TEST(!ex.submit(remote<maybe_half>, 7).result().has_value());
    BOOST_TEST((ex.submit(remote<tag>, 5).result() == std::tuple<int, std::string>(5, "5")));
    BOOST_TEST(std::get<std::string>(ex.submit(remote<either>, -1).result()) == "negative");
    BOOST_TEST(std::get<int>(ex.submit(remote<either>, 3).result()) == 3);
    futura::future<void> v = ex.submit(remote<store>, 3);
    v.result();  // a void call: ran, nothing to return
    BOOST_TEST((v.state() == futura::future_state::finished));
    BOOST_TEST(g_sink == 0);                                    // it ran in another process
    BOOST_TEST(ex.submit(remote<add>, 2, 40L).result() == 42);  // converted to int
  });
}

BOOST_AUTO_TEST_CASE(ten_thousand_calls_all_come_back_to_their_own_future) {
  on_mpi([](futura::mpi::executor& ex) {
    std::vector<futura::future<int>> fs;
    for (int i = 0; i < 10000; ++i) fs.push_back(ex.submit(remote<square>, i));
    for (int i = 0; i < 10000; ++i) BOOST_REQUIRE_EQUAL(fs[i].result(), i * i);
  });
}

BOOST_AUTO_TEST_CASE(map_yields_results_in_input_order_for_every_chunksize) {
  on_mpi([](futura::mpi::executor& ex) {
    std::vector<int> in(1000);
    for (int i = 0; i < 1000; ++i) in[i] = i;
    for (std::size_t chunksize : {1, 7, 100, 1000, 5000}) {
      auto results = ex.map(remote<square>, in, chunksize);
      BOOST_TEST(results.size() == 1000u);
      int i = 0;
      for (int r : results) {
        BOOST_REQUIRE_EQUAL(r, i * i);
        ++i;
      }
      BOOST_TEST(i == 1000);
    }
    int n = 0;
    for (int r : ex.map(remote<square>, std::vector<int>{}, 10)) n += r + 1;
    BOOST_TEST(n == 0);
    BOOST_CHECK_THROW(ex.map(remote<square>, in, 0), std::invalid_argument);
  });
}

BOOST_AUTO_TEST_CASE(map_takes_tuples_for_a_function_of_several_arguments) {
  on_mpi([](futura::mpi::executor& ex) {
    std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
    std::vector<int> sums;
    for (int s : ex.map(remote<add>, pairs, 2)) sums.push_back(s);
    BOOST_TEST(sums == (std::vector<int>{3, 7, 11}));
  });
}

BOOST_AUTO_TEST_CASE(map_rethrows_a_call_exception_at_its_position_only) {
  on_mpi([](futura::mpi::executor& ex) {
    std::vector<int> in(1000);
    for (int i = 0; i < 1000; ++i) in[i] = i;
    auto results = ex.map(remote<fails_at_500>, in, 64);
    int seen = 0;
    try {
      for (int r : results) {
        BOOST_REQUIRE_EQUAL(r, seen * seen);
        ++seen;
      }
      BOOST_FAIL("no exception");
    } catch (std::out_of_range const& e) {
      BOOST_TEST(e.what() == std::string("x == 500"));
    }
    BOOST_TEST(seen == 500);
  });
}

BOOST_AUTO_TEST_CASE(map_yields_each_value_once_its_own_chunk_is_back) {
  on_mpi([](futura::mpi::executor& ex) {
    gate_file g;
    auto const open = std::filesystem::temp_directory_path().string();  // exists: no wait
    std::vector<std::string> in{open, open, open, g.path()};            // the second chunk is held
    auto results = ex.map(remote<gate>, in, 2);
    auto it = results.begin();
    BOOST_TEST(*it > 0);  // the first chunk, back while the second is held
    ++it;
    BOOST_TEST(*it > 0);
    ++it;
    g.open();
    BOOST_TEST(*it > 0);
  });
}

BOOST_AUTO_TEST_CASE(a_map_timeout_is_timeout_error) {
  on_mpi([](futura::mpi::executor& ex) {
    gate_file g;
    auto results = ex.map(remote<gate>, std::vector<std::string>{g.path()}, 1, 20ms);
    BOOST_CHECK_THROW(*results.begin(), futura::timeout_error);
    g.open();
  });
}

BOOST_AUTO_TEST_CASE(standard_exceptions_come_back_as_themselves) {
  on_mpi([](futura::mpi::executor& ex) {
    auto what = [&](int k) -> std::string {
      try {
        ex.submit(remote<throw_kind>, k).result();
      } catch (std::exception const& e) {
        return e.what();
      }
      return "no exception";
    };
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 0).result(), std::invalid_argument);
    BOOST_TEST(what(0) == "bad argument");
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 1).result(), std::out_of_range);
    BOOST_TEST(what(1) == "index 7 out of range");
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 2).result(), std::runtime_error);
    BOOST_TEST(what(2) == "runtime trouble");
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 3).result(), std::logic_error);
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 4).result(), std::range_error);
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 5).result(), std::overflow_error);
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 6).result(), std::bad_alloc);
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 7).result(), std::domain_error);
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 8).result(), std::length_error);
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 9).result(), std::underflow_error);
    BOOST_CHECK_THROW(ex.submit(remote<throw_kind>, 13).result(), futura::timeout_error);
    BOOST_TEST(what(13) == "remote timeout");
    try {
      ex.submit(remote<throw_kind>, 10).result();
      BOOST_FAIL("no exception");
    } catch (std::system_error const& e) {
      BOOST_TEST(e.code() == std::make_error_code(std::errc::invalid_argument));
      BOOST_TEST(e.what() == std::system_error(e.code(), "open").what());
    }
    // Exact types: a runtime_error is a runtime_error, not any of its derived types.
    auto e = ex.submit(remote<throw_kind>, 2).exception();
    try {
      std::rethrow_exception(e);
    } catch (std::range_error const&) {
      BOOST_FAIL("a plain runtime_error came back as a range_error");
    } catch (std::runtime_error const&) {
    }
  });
}

BOOST_AUTO_TEST_CASE(other_exceptions_come_back_as_remote_error_naming_their_type) {
  on_mpi([](futura::mpi::executor& ex) {
    try {
      ex.submit(remote<throw_kind>, 11).result();
      BOOST_FAIL("no exception");
    } catch (futura::mpi::remote_error const& e) {
      BOOST_TEST(e.type_name() == "app::custom_error");
      BOOST_TEST(e.message() == "custom trouble");
      BOOST_TEST(e.what() == std::string("app::custom_error: custom trouble"));
      BOOST_TEST((e.rank() >= 1 && e.rank() <= 3));
    }
    try {
      ex.submit(remote<throw_kind>, 12).result();
      BOOST_FAIL("no exception");
    } catch (futura::mpi::remote_error const& e) {
      BOOST_TEST(e.type_name() == "int");
      BOOST_TEST(e.what() == std::string("remote call threw int"));
    }
    BOOST_TEST(ex.submit(remote<throw_kind>, 99).result() == 99);  // the workers go on
  });
}

BOOST_AUTO_TEST_CASE(a_name_the_worker_does_not_know_fails_that_future_only) {
  if (!is_root()) futura::mpi::detail::forget_remote("only on the root");  // a different binary
  on_mpi([](futura::mpi::executor& ex) {
    auto f = ex.submit(remote<only_on_the_root>, 1);
    try {
      f.result(60s);
      BOOST_FAIL("no exception");
    } catch (futura::mpi::not_registered_error const& e) {
      BOOST_TEST(e.name() == "only on the root");
      BOOST_TEST(std::string(e.what()).find("no function is registered as 'only on the root'") !=
                 std::string::npos);
    }
    std::vector<int> in{1, 2, 3};
    BOOST_CHECK_THROW(*ex.map(remote<only_on_the_root>, in, 2).begin(),
                      futura::mpi::not_registered_error);
    BOOST_TEST(ex.submit(remote<square>, 3).result() == 9);
  });
}

BOOST_AUTO_TEST_CASE(cancel_is_true_until_the_call_is_sent) {
  on_mpi(
      [](futura::mpi::executor& ex) {
        gate_file g;
        auto held = hold_every_worker(ex, g);
        auto queued = ex.submit(remote<square>, 5);  // no worker has room: not sent
        auto also_queued = ex.submit(remote<square>, 6);
        BOOST_TEST(queued.cancel());
        BOOST_TEST(queued.cancelled());
        BOOST_CHECK_THROW(queued.result(), futura::cancelled_error);
        g.open();
        std::set<int> ranks;
        for (auto& h : held) ranks.insert(h.result());
        BOOST_TEST(ranks == (std::set<int>{1, 2, 3}));  // one gate per worker
        BOOST_TEST(also_queued.result() == 36);
        BOOST_TEST(!also_queued.cancel());  // finished
        // Once sent, a call is running: cancel() is false, as in Python.
        gate_file g2;
        auto running = ex.submit(remote<gate>, g2.path());
        wait_until_sent(running);
        BOOST_TEST(!running.cancel());
        g2.open();
        BOOST_TEST(running.result() > 0);
      },
      {.max_in_flight = 1});
}

BOOST_AUTO_TEST_CASE(shutdown_with_cancel_futures_cancels_what_is_not_sent) {
  on_mpi(
      [](futura::mpi::executor& ex) {
        gate_file g;
        auto held = hold_every_worker(ex, g);
        std::vector<futura::future<int>> queued;
        for (int i = 0; i < 5; ++i) queued.push_back(ex.submit(remote<square>, i));
        ex.shutdown({.wait = false, .cancel_futures = true});
        for (auto& q : queued) BOOST_TEST(q.cancelled());
        try {
          ex.submit(remote<square>, 1);
          BOOST_FAIL("no exception");
        } catch (futura::broken_executor const& e) {
          BOOST_TEST(e.what() == std::string("cannot schedule new futures after shutdown"));
        }
        BOOST_CHECK_THROW(ex.map(remote<square>, std::vector<int>{1}), futura::broken_executor);
        g.open();
        for (auto& h : held) BOOST_TEST(h.result() > 0);  // sent calls still finish
        ex.shutdown();                                    // again: harmless
      },
      {.max_in_flight = 1});
}

BOOST_AUTO_TEST_CASE(shutdown_with_wait_returns_when_every_call_is_done) {
  on_mpi([](futura::mpi::executor& ex) {
    std::vector<futura::future<int>> fs;
    for (int i = 0; i < 200; ++i) fs.push_back(ex.submit(remote<square>, i));
    ex.shutdown(true);
    for (auto& f : fs) BOOST_TEST(f.done());
  });
}

BOOST_AUTO_TEST_CASE(shutdown_wait_from_a_done_callback_throws_instead_of_deadlocking) {
  on_mpi([](futura::mpi::executor& ex) {
    futura::promise<std::string> seen;
    auto f = ex.submit(remote<square>, 2);
    f.add_done_callback([&](futura::future<int> const&) {
      try {
        ex.shutdown(true);
        seen.set_result("no exception");
      } catch (futura::invalid_state_error const& e) {
        seen.set_result(e.what());
      }
    });
    BOOST_TEST(seen.get_future().result().find("would wait for itself") != std::string::npos);
  });
}

BOOST_AUTO_TEST_CASE(a_busy_worker_gets_no_more_calls_until_it_answers) {
  on_mpi(
      [](futura::mpi::executor& ex) {
        gate_file g;
        auto held = ex.submit(remote<gate>, g.path());  // one worker stays busy
        std::vector<futura::future<int>> fs;
        for (int i = 0; i < 60; ++i) fs.push_back(ex.submit(remote<rank_of_worker>));
        std::set<int> ranks;
        for (auto& f : fs) ranks.insert(f.result());  // all done while the gate is closed
        BOOST_TEST(!held.done());
        BOOST_TEST(ranks.size() == 2u);
        g.open();
        BOOST_TEST(ranks.count(held.result()) == 0u);
      },
      {.max_in_flight = 1});
}

BOOST_AUTO_TEST_CASE(idle_workers_each_get_a_call_before_any_gets_a_second) {
  on_mpi([](futura::mpi::executor& ex) {  // max_in_flight 4, three workers
    gate_file g;
    std::vector<futura::future<int>> held;
    for (int i = 0; i < 3; ++i) held.push_back(ex.submit(remote<gate>, g.path()));
    for (auto const& h : held) wait_until_sent(h);
    g.open();
    std::set<int> ranks;
    for (auto& h : held) ranks.insert(h.result());
    BOOST_TEST(ranks == (std::set<int>{1, 2, 3}));
  });
}

BOOST_AUTO_TEST_CASE(large_arguments_and_results_travel_whole) {
  on_mpi([](futura::mpi::executor& ex) {
    std::vector<double> big(2'000'000);  // 16 MB each way: MPI's rendezvous protocol
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<double>(i);
    auto f = ex.submit(remote<scale>, big, 0.5);
    auto g = ex.submit(remote<square>, 12);  // small calls pass meanwhile
    BOOST_TEST(g.result() == 144);
    auto const& r = f.result();
    BOOST_REQUIRE_EQUAL(r.size(), big.size());
    BOOST_TEST(r[1'999'999] == 999'999.5);
  });
}

BOOST_AUTO_TEST_CASE(results_are_taken_in_completion_order) {
  on_mpi([](futura::mpi::executor& ex) {
    gate_file g;
    auto first = ex.submit(remote<gate>, g.path());
    auto second = ex.submit(remote<square>, 9);
    BOOST_TEST(second.result() == 81);  // not behind the first, still running
    BOOST_TEST(!first.done());
    g.open();
    BOOST_TEST(first.result() > 0);
  });
}

BOOST_AUTO_TEST_CASE(a_result_timeout_is_timeout_error) {
  on_mpi([](futura::mpi::executor& ex) {
    gate_file g;
    auto f = ex.submit(remote<gate>, g.path());
    BOOST_CHECK_THROW(f.result(10ms), futura::timeout_error);
    g.open();
    BOOST_TEST(f.result() > 0);
  });
}

BOOST_AUTO_TEST_CASE(mpi_futures_mix_with_local_ones_in_as_completed_wait_and_gather) {
  on_mpi([](futura::mpi::executor& ex) {
    futura::thread_pool_executor pool{{.max_workers = 1}};
    futura::promise<int> last;
    std::vector<futura::future<int>> fs{ex.submit(remote<square>, 3), last.get_future(),
                                        pool.submit([] { return 2; })};
    std::multiset<int> got;
    auto done = futura::as_completed(fs, 60s);
    auto it = done.begin();
    got.insert((*it).result());
    ++it;
    got.insert((*it).result());
    BOOST_TEST(got == (std::multiset<int>{2, 9}));  // the promise is not set yet
    last.set_result(1);
    ++it;
    BOOST_TEST((*it).result() == 1);

    gate_file g;
    std::vector<futura::future<int>> two{ex.submit(remote<gate>, g.path()),
                                         pool.submit([] { return 5; })};
    auto [d, nd] = futura::wait(two, futura::return_when::first_completed);
    BOOST_TEST(d.size() == 1u);
    BOOST_TEST(d[0].result() == 5);
    g.open();

    auto both = futura::gather(ex.submit(remote<square>, 4), pool.submit([] { return 1; }));
    BOOST_TEST((both.result() == std::tuple<int, int>(16, 1)));
  });
}

boost::asio::awaitable<int> remote_and_local(futura::mpi::executor& ex) {
  auto ioc = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(ioc, 1ms);
  futura::future<void> tick = timer.async_wait(futura::use_future);
  auto a = ex.submit(remote<square>, 5);
  auto b = ex.submit(remote<square>, 6);
  int const x = co_await a;  // an MPI future, awaited on the loop
  auto both = futura::gather(b, ex.submit(remote<add>, 1, 2));
  auto [y, z] = co_await both;
  co_await tick;
  co_return x + y + z;
}

BOOST_AUTO_TEST_CASE(a_coroutine_awaits_mpi_futures_beside_an_asio_timer) {
  on_mpi([](futura::mpi::executor& ex) {
    boost::asio::io_context io;
    auto task = futura::create_task(io, remote_and_local(ex));
    io.run();
    BOOST_TEST(task.result() == 25 + 36 + 3);
  });
}

BOOST_AUTO_TEST_CASE(done_callbacks_run_once_each) {
  on_mpi([](futura::mpi::executor& ex) {
    std::atomic<int> calls{0};
    std::vector<futura::future<int>> fs;
    for (int i = 0; i < 100; ++i) {
      fs.push_back(ex.submit(remote<square>, i));
      fs.back().add_done_callback([&] { ++calls; });
    }
    ex.shutdown(true);
    BOOST_TEST(calls == 100);
  });
}

BOOST_AUTO_TEST_CASE(run_returns_the_body_value_on_the_root_only) {
  auto r = futura::mpi::run(
      [](futura::mpi::executor& ex) { return ex.submit(remote<square>, 6).result(); });
  if (is_root())
    BOOST_TEST((r == std::optional<int>(36)));
  else
    BOOST_TEST(!r.has_value());
}

BOOST_AUTO_TEST_CASE(a_throwing_body_releases_the_workers_then_rethrows) {
  bool thrown = false;
  try {
    futura::mpi::run([](futura::mpi::executor& ex) {
      auto f = ex.submit(remote<square>, 2);
      throw std::runtime_error("body failed");
    });
  } catch (std::runtime_error const& e) {
    thrown = true;
    BOOST_TEST(e.what() == std::string("body failed"));
  }
  BOOST_TEST(thrown == is_root());
  on_mpi([](futura::mpi::executor& ex) { BOOST_TEST(ex.submit(remote<square>, 3).result() == 9); });
}

BOOST_AUTO_TEST_CASE(any_rank_can_be_the_root) {
  bool ran = false;
  futura::mpi::run(boost::mpi::communicator(),
                   [&](futura::mpi::executor& ex) {
                     ran = true;
                     std::set<int> ranks;
                     for (int i = 0; i < 30; ++i)
                       ranks.insert(ex.submit(remote<rank_of_worker>).result());
                     BOOST_TEST(ranks.count(2) == 0u);
                   },
                   {.root = 2});
  BOOST_TEST(ran == (boost::mpi::communicator().rank() == 2));
}

BOOST_AUTO_TEST_CASE(run_inside_a_body_is_refused) {
  on_mpi([](futura::mpi::executor& ex) {
    BOOST_CHECK_THROW(futura::mpi::run([](futura::mpi::executor&) {}), std::logic_error);
    BOOST_TEST(ex.submit(remote<square>, 4).result() == 16);
  });
}

BOOST_AUTO_TEST_CASE(a_bad_root_is_refused_on_every_rank) {
  BOOST_CHECK_THROW(futura::mpi::run([](futura::mpi::executor&) {}, {.root = 4}),
                    std::invalid_argument);
  BOOST_CHECK_THROW(futura::mpi::run([](futura::mpi::executor&) {}, {.max_in_flight = 0}),
                    std::invalid_argument);
}
