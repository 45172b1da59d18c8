// futura/thread_pool_executor.hpp: Python's ThreadPoolExecutor on boost::asio::thread_pool.
#ifndef FUTURA_THREAD_POOL_EXECUTOR_HPP
#define FUTURA_THREAD_POOL_EXECUTOR_HPP

#include <futura/detail/submit_log.hpp>
#include <futura/detail/task.hpp>
#include <futura/future.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace futura {

/// How to build a thread_pool_executor (ThreadPoolExecutor's arguments).
struct thread_pool_options {
  /// Number of worker threads; absent: min(32, cores + 4), as Python. Must be > 0.
  std::optional<int> max_workers{};
  /// Threads are named "<prefix>_<n>" (visible in gdb and top); default "futura-<k>".
  std::string thread_name_prefix{};
  /// Runs once in each worker before it takes any work. If it throws, the pool is broken:
  /// queued and later work fails with broken_thread_pool.
  std::function<void()> initializer{};
};

/// The arguments of shutdown() by name, as Python's keywords:
/// `pool.shutdown({.wait = false, .cancel_futures = true})`.
struct shutdown_options {
  /// Return only once the submitted work is done and the workers have left (wait=True).
  bool wait = true;
  /// Cancel the work no worker has started yet, instead of running it (cancel_futures=True).
  bool cancel_futures = false;
};

template <class T>
class map_range;

namespace detail {

/// The last pool a thread submitted to, and its log there: the one lookup of submit().
struct last_log {
  std::uint64_t pool = 0;  // pool ids start at 1
  submit_log* log = nullptr;
};

/// Everything a thread pool is, shared by its handle and its worker threads: so that the
/// handle may be destroyed on one of its own workers (the last owner dropped inside a
/// task), and the workers finish the submitted work and leave on their own.
class pool_core {
 public:
  explicit pool_core(thread_pool_options options);
  pool_core(pool_core const&) = delete;
  pool_core& operator=(pool_core const&) = delete;

  /// Starts the workers; each holds `self`.
  void start(std::shared_ptr<pool_core> const& self);
  /// The handle was destroyed: shutdown(true), or, on one of its own workers, a shutdown
  /// that does not wait, after which the workers finish and leave by themselves.
  void orphan() noexcept;

  // gate_: read on every submit and every task, written only at shutdown or breakage, so
  // its cache line stays shared. `drained`: every submit() that passed the check has
  // finished (the submitted counts are final).
  static constexpr std::uint64_t shut_down = 1, cancelling = 2, broken = 4, drained = 8;

  /// A submit() under way: the calling thread's log, marked active so that shutdown waits
  /// for it to finish posting. Throws if the pool is shut down or broken.
  class admission {
   public:
    explicit admission(pool_core& p) : log(p.this_thread_log()) {
      // The store and the load are both seq_cst (Dekker's handshake with shutdown, which
      // sets the gate and then reads every log's flag): one of the two sees the other.
      log.active.store(true, std::memory_order_seq_cst);
      if (auto const g = p.gate_.load(std::memory_order_seq_cst); g & (shut_down | broken)) {
        log.active.store(false, std::memory_order_release);
        p.refuse(g);
      }
    }
    admission(admission const&) = delete;
    admission& operator=(admission const&) = delete;
    ~admission() { log.active.store(false, std::memory_order_release); }
    submit_log& log;
  };

  /// What a worker does with a task it dequeues: run it, or cancel/fail it. In its
  /// submitting thread's log from submit() until a worker takes it, and counted as
  /// finished once it is destroyed (run, or dropped unrun).
  template <class Task>
  struct pool_task {
    pool_task(pool_core* p, submit_log& log, Task t)
        : pool(p), task(std::move(t)), entry(log.add(task.shared_state())) {
      // The owner alone writes it; shutdown reads it once the owner is out of submit().
      log.submitted.store(log.submitted.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
    }
    pool_task(pool_task&& o) noexcept
        : pool(std::exchange(o.pool, nullptr)),
          task(std::move(o.task)),
          entry(std::exchange(o.entry, nullptr)) {}
    pool_task& operator=(pool_task&&) = delete;
    ~pool_task() {
      if (!pool) return;
      if (entry) submit_log::take(entry, task.shared_state());
      pool->task_finished();
    }

    pool_core* pool;
    Task task;
    submit_log::entry* entry;

    void operator()() noexcept {
      submit_log::take(std::exchange(entry, nullptr), task.shared_state());
      // Loaded after leaving the log: work that shutdown(cancel_futures) or a failed
      // initializer did not reach there is cancelled or failed here instead.
      auto const g = pool->gate_.load(std::memory_order_acquire);
      if (g & broken)
        task.fail(pool->broken_error());
      else if (g & cancelling)
        task.cancel();
      else
        task();
    }
  };

  template <class F, class... Args>
  auto submit(F&& fn, Args&&... args) {
    admission in(*this);
    using task_t = task<std::decay_t<F>, std::decay_t<Args>...>;
    pool_task<task_t> t(this, in.log, task_t(std::forward<F>(fn), std::forward<Args>(args)...));
    auto f = t.task.get_future();
    boost::asio::post(pool_.get_executor(), std::move(t));
    return f;
  }

  void shutdown(bool wait, bool cancel_futures);
  boost::asio::thread_pool::executor_type get_executor() noexcept { return pool_.get_executor(); }
  std::size_t max_workers() const noexcept { return workers_; }

 private:
  /// The calling thread's log for this pool; the first call of a thread finds or makes it.
  submit_log& this_thread_log() {
    auto& cache = t_last_log;
    if (cache.pool == id_) return *cache.log;
    return find_log();
  }
  submit_log& find_log();
  [[noreturn]] void refuse(std::uint64_t gate) const;
  std::exception_ptr broken_error() const;
  void worker(std::shared_ptr<pool_core> self, std::size_t index, std::string name);
  /// Takes a reference to every queued state out of the logs, in each log's order.
  std::vector<std::pair<std::uint64_t, state_base*>> take_queued();
  void cancel_pending();
  void fail_pending() noexcept;
  /// A submitted task was run or dropped: counted where it was (the worker's own counter);
  /// once the pool is drained, the last one wakes shutdown(true), or, for an orphaned
  /// pool, lets go of the handlers parked on it.
  void task_finished() noexcept;
  /// Every submitted task finished (only meaningful once drained).
  bool all_finished() noexcept;
  /// Destroys the handlers parked on the pool (async_wait handlers and coroutines waiting
  /// on futures that nobody may ever complete): they hold work, and would keep the
  /// workers from leaving. As an io_context destroys its pending handlers. Once.
  void drop_parked() noexcept;
  void join_workers();

  static inline thread_local last_log t_last_log;
  struct alignas(64) finish_counter {
    std::atomic<std::uint64_t> n{0};
  };

  std::uint64_t const id_;  // unique for the life of the process (addresses are reused)
  // Everything above pool_ outlives it: its queued tasks, destroyed with it, use them.
  std::mutex logs_mutex_;
  std::vector<std::shared_ptr<submit_log>> logs_;
  std::unique_ptr<finish_counter[]> finished_;  // one per worker, and one for other threads
  std::atomic<std::uint64_t> progress_{0};      // bumped by each finish once drained
  std::atomic<std::uint64_t> gate_{0};
  std::atomic<bool> orphaned_{false};
  std::atomic<bool> parked_dropped_{false};
  boost::asio::thread_pool pool_{0};  // the queue; our own threads attach to it
  thread_pool_options options_;
  std::size_t workers_ = 0;
  std::vector<std::thread> threads_;
  std::mutex join_mutex_;
};

}  // namespace detail

/// A pool of worker threads that runs submitted functions and hands back their futures.
/// Thread-safe. Its threads start at construction (Asio's thread_pool does; Python starts
/// them lazily) and never exceed max_workers. The destructor is shutdown(true): it waits
/// for the submitted work, then destroys, uncalled, the handlers still parked on the
/// pool's executor (an async_wait handler, a coroutine, waiting on a future nobody may
/// ever complete), as an io_context destroys its pending handlers, and joins the workers.
/// Destroyed on one of its own workers (the last owner dropped inside a task), it does not
/// wait: the workers finish the submitted work and leave on their own.
///
/// \code
/// futura::thread_pool_executor pool{{.max_workers = 4, .thread_name_prefix = "io"}};
/// auto f = pool.submit([](int x) { return x * x; }, 7);   // future<int>
/// for (int r : pool.map([](int x) { return x * 2; }, std::vector{1, 2, 3})) use(r);
/// \endcode
class thread_pool_executor {
 public:
  /// The type of get_executor(): a boost::asio::thread_pool executor.
  using executor_type = boost::asio::thread_pool::executor_type;

  /// A pool with Python's default number of workers, min(32, cores + 4).
  thread_pool_executor() : thread_pool_executor(thread_pool_options{}) {}
  /// Throws std::invalid_argument if max_workers <= 0.
  explicit thread_pool_executor(thread_pool_options options);
  thread_pool_executor(thread_pool_executor const&) = delete;
  thread_pool_executor& operator=(thread_pool_executor const&) = delete;
  /// shutdown(true); on one of the pool's own workers, a shutdown that does not wait (see
  /// the class comment).
  ~thread_pool_executor();

  /// Schedules `fn(args...)`; returns its future. Cancelling the future before a worker
  /// takes it means `fn` never runs; a running call cannot be cancelled. Throws
  /// broken_executor after shutdown, broken_thread_pool once an initializer failed.
  template <class F, class... Args>
  auto submit(F&& fn, Args&&... args) {
    return core_->submit(std::forward<F>(fn), std::forward<Args>(args)...);
  }

  /// Submits `fn(x)` for every x of `inputs` at once; the result yields the values in input
  /// order, rethrowing a call's exception at its position. Work not yet yielded is
  /// cancelled when the result is destroyed (the loop ended early or threw).
  template <class F, std::ranges::input_range R>
  auto map(F fn, R&& inputs) {
    return map_impl(fn, std::forward<R>(inputs), std::nullopt);
  }
  /// As map(fn, inputs), and a result not ready `timeout` after this call throws
  /// timeout_error.
  template <class F, std::ranges::input_range R, class Rep, class Period>
  auto map(F fn, R&& inputs, std::chrono::duration<Rep, Period> timeout) {
    return map_impl(fn, std::forward<R>(inputs), detail::deadline_after(timeout));
  }

  /// Refuses new work from now on. `cancel_futures`: work not yet started is cancelled
  /// instead of run. `wait`: returns once the submitted work is done and every worker has
  /// left; handlers parked on the pool are destroyed uncalled (see the class comment).
  /// shutdown(true) from one of this pool's own workers throws invalid_state_error: it
  /// would wait for itself. May be called more than once, from any thread.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    core_->shutdown(wait, cancel_futures);
  }
  /// shutdown() with Python's keyword names: `pool.shutdown({.cancel_futures = true})`.
  void shutdown(shutdown_options options) { shutdown(options.wait, options.cancel_futures); }

  /// The Asio executor of the pool: post, co_spawn or any async operation may use it.
  executor_type get_executor() noexcept { return core_->get_executor(); }
  /// The number of worker threads (thread_pool_options::max_workers, or its default).
  std::size_t max_workers() const noexcept { return core_->max_workers(); }

 private:
  template <class F, class R>
  auto map_impl(F const& fn, R&& inputs, std::optional<std::chrono::steady_clock::time_point> d);

  std::shared_ptr<detail::pool_core> core_;
};

/// The results of thread_pool_executor::map, in input order. An input range: iterating
/// blocks for each result in turn. Holds the futures, releasing each once it is passed.
template <class T>
class map_range {
  static_assert(!std::is_void_v<T>, "map needs a function that returns a value; use submit");

 public:
  /// Walks the results in input order; `*` blocks until the one at its position is ready.
  class iterator {
   public:
    /// One pass only: `++` lets go of the result passed.
    using iterator_category = std::input_iterator_tag;
    /// A signed distance, as iterators need.
    using difference_type = std::ptrdiff_t;
    /// The type `fn` returns, without reference or const.
    using value_type = std::remove_cvref_t<T>;
    /// What `*` gives: the value in its future's shared state, valid until `++`.
    using reference = std::add_lvalue_reference_t<T>;

    /// A singular iterator (only assignable).
    iterator() = default;
    /// Blocks until the call at this position is done; its value, or rethrows its
    /// exception (timeout_error past map()'s timeout).
    reference operator*() const { return r_->get(i_); }
    /// Moves to the next input, letting go of this one's future (and its value).
    iterator& operator++() {
      r_->futures_[i_++] = {};  // keep no reference to what was yielded
      return *this;
    }
    /// As `++it`.
    void operator++(int) { ++*this; }
    /// True past the last input.
    friend bool operator==(iterator const& a, std::default_sentinel_t) { return a.at_end(); }

   private:
    friend map_range;
    bool at_end() const noexcept { return i_ == r_->futures_.size(); }
    iterator(map_range* r, std::size_t i) : r_(r), i_(i) {}
    map_range* r_ = nullptr;
    std::size_t i_ = 0;
  };

  /// What thread_pool_executor::map() returns: the futures in input order, and the
  /// deadline past which a result not ready throws timeout_error (none: no limit).
  map_range(std::vector<future<T>> futures,
            std::optional<std::chrono::steady_clock::time_point> deadline)
      : futures_(std::move(futures)), deadline_(deadline) {}
  /// Takes over `o`'s futures.
  map_range(map_range&&) noexcept = default;
  map_range& operator=(map_range&&) = delete;
  /// Cancels the work not yet yielded (the calls no worker has started never run).
  ~map_range() {
    for (auto& f : futures_)
      if (f.valid()) f.cancel();
  }

  /// Iterating starts where an earlier loop stopped.
  iterator begin() {
    while (next_ < futures_.size() && !futures_[next_].valid()) ++next_;
    return iterator(this, next_);
  }
  /// The end: compare an iterator with it.
  std::default_sentinel_t end() const noexcept { return {}; }
  /// The number of inputs, yielded or not.
  std::size_t size() const noexcept { return futures_.size(); }

 private:
  detail::result_ref_t<T> get(std::size_t i) {
    next_ = i;
    auto& f = futures_[i];
    return deadline_ ? f.result(*deadline_ - std::chrono::steady_clock::now()) : f.result();
  }

  std::vector<future<T>> futures_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::size_t next_ = 0;
};

template <class F, class R>
auto thread_pool_executor::map_impl(F const& fn, R&& inputs,
                                    std::optional<std::chrono::steady_clock::time_point> d) {
  using arg_t = std::ranges::range_reference_t<R>;
  using value_t = detail::task_result_t<F, std::decay_t<arg_t>>;
  std::vector<future<value_t>> futures;
  if constexpr (std::ranges::sized_range<R>) futures.reserve(std::ranges::size(inputs));
  try {
    for (auto&& x : inputs) futures.push_back(submit(fn, std::forward<decltype(x)>(x)));
  } catch (...) {  // shut down meanwhile: take back what was submitted
    for (auto& f : futures) f.cancel();
    throw;
  }
  return map_range<value_t>(std::move(futures), d);
}

}  // namespace futura

#endif
