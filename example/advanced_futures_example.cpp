// Twin of the Python program advanced_futures_example.py: an
// AsyncTaskManager that schedules tasks whose loop futures carry a TaskResult or the
// task's exception, with done callbacks, gather(return_exceptions=True) and Python's
// logging format on stderr.
#include <futura/gather.hpp>
#include <futura/loop.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock_type = std::chrono::system_clock;

namespace {

std::tm local_time(clock_type::time_point t) {
  std::time_t const secs = clock_type::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return tm;
}
long micros_of(clock_type::time_point t) {
  auto const us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  return static_cast<long>(us.count() % 1'000'000);
}

/// logging.basicConfig(format='%(asctime)s - %(levelname)s - %(message)s'), to stderr.
void log(char const* level, std::string const& message) {
  auto const now = clock_type::now();
  std::tm const tm = local_time(now);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02d %02d:%02d:%02d,%03ld", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros_of(now) / 1000);
  std::cerr << (std::string(stamp) + " - " + level + " - " + message + "\n") << std::flush;
}
void info(std::string const& m) {
  log("INFO", m);
}
void error(std::string const& m) {
  log("ERROR", m);
}

std::string message_of(std::exception_ptr const& e) {
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& x) {
    return x.what();
  }
}

/// Python's repr of datetime.datetime: trailing zero fields are left out.
std::string datetime_repr(clock_type::time_point t) {
  std::tm const tm = local_time(t);
  long const us = micros_of(t);
  std::ostringstream os;
  os << "datetime.datetime(" << tm.tm_year + 1900 << ", " << tm.tm_mon + 1 << ", " << tm.tm_mday
     << ", " << tm.tm_hour << ", " << tm.tm_min;
  if (tm.tm_sec || us) os << ", " << tm.tm_sec;
  if (us) os << ", " << us;
  os << ')';
  return os.str();
}

struct task_result {
  std::string task_id;
  clock_type::time_point timestamp;
  std::optional<std::string> data;
  std::exception_ptr error;
  std::string status = "pending";

  friend std::ostream& operator<<(std::ostream& os, task_result const& r) {  // dataclass repr
    os << "TaskResult(task_id='" << r.task_id << "', timestamp=" << datetime_repr(r.timestamp)
       << ", data=" << (r.data ? "'" + *r.data + "'" : "None") << ", error=";
    if (r.error)
      os << "ValueError('" << message_of(r.error) << "')";
    else
      os << "None";
    return os << ", status='" << r.status << "')";
  }
};

std::string to_string(task_result const& r) {
  std::ostringstream os;
  os << r;
  return os.str();
}

class async_task_manager {
 public:
  asio::awaitable<void> execute_task(std::string task_id, std::chrono::milliseconds delay,
                                     bool should_fail) {
    task_result result;
    try {
      info("Starting task " + task_id);
      co_await futura::sleep(delay);  // simulate work
      if (should_fail) throw std::invalid_argument("Simulated failure for task " + task_id);
      result = {task_id, clock_type::now(), "Processed data for " + task_id, nullptr, "completed"};
    } catch (std::exception const& e) {
      error("Error in task " + task_id + ": " + e.what());
      result = {task_id, clock_type::now(), std::nullopt, std::current_exception(), "failed"};
    }
    // Python's finally block.
    if (auto it = futures_.find(task_id); it != futures_.end() && !it->second.done()) {
      if (result.error)
        it->second.set_exception(result.error);
      else
        it->second.set_result(result);
    }
    results_.emplace_back(task_id, result);
  }

  static void task_callback(std::string const& task_id, futura::future<task_result> const& fut) {
    try {
      info("Task " + task_id + " completed successfully: " + to_string(fut.result()));
    } catch (std::exception const& e) {
      error("Task " + task_id + " failed: " + e.what());
    }
  }

  asio::awaitable<futura::future<task_result>> schedule_task(std::string task_id,
                                                             std::chrono::milliseconds delay,
                                                             bool should_fail) {
    auto loop = co_await asio::this_coro::executor;
    auto future = futura::create_future<task_result>(loop);
    futures_.insert_or_assign(task_id, future);
    future.add_done_callback([task_id](auto const& f) { task_callback(task_id, f); });
    futura::create_task(loop, execute_task(task_id, delay, should_fail));
    co_return future;
  }

  /// In completion order, as the Python dict fills.
  std::vector<std::pair<std::string, task_result>> const& results() const { return results_; }

 private:
  std::map<std::string, futura::future<task_result>> futures_;
  std::vector<std::pair<std::string, task_result>> results_;
};

asio::awaitable<void> main_coro() {
  async_task_manager task_manager;

  std::vector<std::tuple<std::string, std::chrono::milliseconds, bool>> const tasks = {
      {"task1", 2000ms, false},  // normal task
      {"task2", 1500ms, true},   // task that will fail
      {"task3", 3000ms, false},  // normal task with a longer delay
  };

  std::vector<futura::future<task_result>> futures;
  for (auto const& [task_id, delay, should_fail] : tasks)
    futures.push_back(co_await task_manager.schedule_task(task_id, delay, should_fail));

  try {
    auto results = co_await futura::gather_settled(futures);
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      auto const& task_id = std::get<0>(tasks[i]);
      if (results[i].has_error())
        error("Task " + task_id + " failed with error: " + message_of(results[i].error()));
      else
        info("Task " + task_id + " final result: " + to_string(*results[i]));
    }
  } catch (std::exception const& e) {
    error(std::string("Error during task execution: ") + e.what());
  }
  info("\nFinal Task Status:");
  for (auto const& [task_id, result] : task_manager.results()) info(task_id + ": " + result.status);
}

}  // namespace

int main() {
  futura::run(main_coro());
}
