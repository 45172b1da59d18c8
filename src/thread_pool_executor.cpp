// The non-template half of thread_pool_executor: threads, admission, shutdown.
#include <futura/thread_pool_executor.hpp>

#include <futura/detail/context_registry.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#endif

namespace futura {
namespace {

thread_local detail::pool_core const* t_current_pool = nullptr;
thread_local std::size_t t_worker_index = 0;  // valid while t_current_pool is set
std::atomic<unsigned> g_pool_counter{0};

void set_thread_name(std::string const& name) {
#if defined(__linux__)
  // Linux keeps 15 characters; keep the tail, it holds the worker number.
  auto const n = name.size() > 15 ? name.substr(name.size() - 15) : name;
  pthread_setname_np(pthread_self(), n.c_str());
#else
  (void)name;
#endif
}

std::size_t worker_count(std::optional<int> requested) {
  if (!requested) {
    auto const cores = std::max(1u, std::thread::hardware_concurrency());
    return std::min<std::size_t>(32, cores + 4);
  }
  if (*requested <= 0) throw std::invalid_argument("max_workers must be greater than 0");
  return static_cast<std::size_t>(*requested);
}

}  // namespace

namespace detail {

submit_log::~submit_log() {
  chunk* c = first_->next.load(std::memory_order_relaxed);
  first_->next.store(nullptr, std::memory_order_relaxed);
  while (c) {
    chunk* next = c->next.load(std::memory_order_relaxed);
    delete c;
    c = next;
  }
}

void submit_log::take_all(std::vector<std::pair<std::uint64_t, state_base*>>& out) {
  chunk* c = first_;
  do {
    for (auto& e : c->entries) {
      state_base* s = e.state.load(std::memory_order_acquire);
      while (s && s != claimed()) {
        if (!e.state.compare_exchange_weak(s, claimed(), std::memory_order_acq_rel,
                                           std::memory_order_acquire))
          continue;
        // Claimed: its task cannot be destroyed until the entry is released.
        s->add_ref();
        try {
          out.emplace_back(e.seq, s);
        } catch (...) {
          s->release();
          e.state.store(s, std::memory_order_release);  // still queued, as it was
          throw;
        }
        e.state.store(nullptr, std::memory_order_release);
        break;
      }
    }
    c = c->next.load(std::memory_order_acquire);
  } while (c != first_);
}

namespace {
/// Every log the calling thread owns, so that its end lets other threads adopt them.
struct thread_logs {
  std::vector<std::pair<std::uint64_t, std::shared_ptr<submit_log>>> logs;
  thread_logs() = default;
  thread_logs(thread_logs const&) = delete;
  thread_logs& operator=(thread_logs const&) = delete;
  ~thread_logs() {
    for (auto& [pool, log] : logs) log->owned.store(false, std::memory_order_release);
  }
};
thread_local thread_logs t_logs;
std::atomic<std::uint64_t> g_pool_ids{0};
}  // namespace

submit_log& pool_core::find_log() {
  auto& mine = t_logs.logs;
  std::shared_ptr<submit_log> log;
  for (auto& [pool, l] : mine)
    if (pool == id_) log = l;
  if (!log) {
    // Logs of pools that are gone (only this thread still holds them) go first.
    std::erase_if(mine, [](auto const& p) { return p.second.use_count() == 1; });
    {
      std::lock_guard lk(logs_mutex_);
      for (auto& l : logs_) {  // adopt the log of a thread that ended
        bool expected = false;
        if (l->owned.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
          log = l;
          break;
        }
      }
      if (!log) logs_.push_back(log = std::make_shared<submit_log>());
    }
    mine.emplace_back(id_, log);
  }
  t_last_log = {id_, log.get()};
  return *log;
}

pool_core::pool_core(thread_pool_options options)
    : id_(g_pool_ids.fetch_add(1, std::memory_order_relaxed) + 1),
      options_(std::move(options)),
      workers_(worker_count(options_.max_workers)) {
  finished_ = std::make_unique<finish_counter[]>(workers_ + 1);
  if (options_.thread_name_prefix.empty())
    options_.thread_name_prefix = "futura-" + std::to_string(g_pool_counter.fetch_add(1));
}

void pool_core::start(std::shared_ptr<pool_core> const& self) {
  threads_.reserve(workers_);
  try {
    for (std::size_t i = 0; i < workers_; ++i)
      threads_.emplace_back(&pool_core::worker, this, self, i,
                            options_.thread_name_prefix + "_" + std::to_string(i));
  } catch (...) {
    shutdown(true, false);
    throw;
  }
}

void pool_core::worker(std::shared_ptr<pool_core> /*self: keeps the pool alive*/, std::size_t index,
                       std::string name) {
  set_thread_name(name);
  t_current_pool = this;
  t_worker_index = index;
  if (options_.initializer) {
    try {
      options_.initializer();
    } catch (...) {
      report_error(std::current_exception(), "Exception in initializer:");
      gate_.fetch_or(broken, std::memory_order_acq_rel);
      fail_pending();
      // Still serve the queue: whatever was submitted fails with broken_thread_pool
      // instead of waiting for a worker that will never come.
    }
  }
  for (;;) {
    try {
      pool_.attach();  // runs until shutdown and the queue is drained
      break;
    } catch (...) {  // a raw handler posted to get_executor() threw
      report_error(std::current_exception(), "Exception in a thread pool handler:");
    }
  }
  t_current_pool = nullptr;
  // `self` may be the last owner: an orphaned pool is freed by its last worker.
}

void pool_core::refuse(std::uint64_t gate) const {
  if (gate & broken) std::rethrow_exception(broken_error());
  throw broken_executor("cannot schedule new futures after shutdown");
}

void pool_core::task_finished() noexcept {
  // seq_cst, then the gate: Dekker's handshake with shutdown, which sets `drained` and
  // then counts; one of the two sees the other.
  if (t_current_pool == this) {
    auto& mine = finished_[t_worker_index].n;  // this worker's alone
    mine.store(mine.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
  } else {
    finished_[workers_].n.fetch_add(1, std::memory_order_seq_cst);
  }
  if (!(gate_.load(std::memory_order_seq_cst) & drained)) return;
  progress_.fetch_add(1, std::memory_order_seq_cst);
  progress_.notify_all();  // shutdown(true) may wait for this
  if (orphaned_.load(std::memory_order_acquire) && all_finished()) drop_parked();
}

bool pool_core::all_finished() noexcept {
  std::uint64_t submitted = 0, finished = 0;
  {
    std::lock_guard lk(logs_mutex_);
    for (auto const& l : logs_) submitted += l->submitted.load(std::memory_order_seq_cst);
  }
  for (std::size_t i = 0; i <= workers_; ++i)
    finished += finished_[i].n.load(std::memory_order_seq_cst);
  return finished == submitted;
}

void pool_core::drop_parked() noexcept {
  if (parked_dropped_.exchange(true, std::memory_order_acq_rel)) return;
  try {
    context_registry::of(pool_).shutdown();
  } catch (...) {
    report_error(std::current_exception(), "cannot drop the handlers parked on a thread pool");
  }
}

std::vector<std::pair<std::uint64_t, state_base*>> pool_core::take_queued() {
  std::vector<std::pair<std::uint64_t, state_base*>> all;
  std::lock_guard lk(logs_mutex_);
  for (auto const& l : logs_) {
    auto const from = all.size();
    l->take_all(all);
    std::sort(all.begin() + static_cast<std::ptrdiff_t>(from), all.end());
  }
  return all;
}

void pool_core::cancel_pending() {
  auto const states = take_queued();
  // Drops each reference taken by take_queued(), whatever happens.
  struct release_from {
    std::vector<std::pair<std::uint64_t, state_base*>> const& states;
    std::size_t i = 0;
    ~release_from() {
      for (; i < states.size(); ++i) states[i].second->release();
    }
  } guard{states};
  // Cancelling runs the futures' callbacks here, in the caller, as Python's shutdown does.
  for (; guard.i < states.size(); ++guard.i) {
    auto* const s = states[guard.i].second;
    s->cancel({});
    s->release();
  }
}

void pool_core::fail_pending() noexcept {
  try {
    auto const states = take_queued();
    for (auto const& [seq, s] : states) {
      try {
        s->try_set_exception(broken_error());
      } catch (...) {  // bad_alloc: the worker that dequeues it fails it instead
      }
      s->release();
    }
  } catch (...) {  // bad_alloc: likewise
  }
}

std::exception_ptr pool_core::broken_error() const {
  return std::make_exception_ptr(broken_thread_pool());
}

void pool_core::shutdown(bool wait, bool cancel_futures) {
  auto const prev =
      gate_.fetch_or(shut_down | (cancel_futures ? cancelling : 0), std::memory_order_seq_cst);
  if (!(prev & shut_down)) {
    // Submits that passed the check are posting now: let them (each is marked active in
    // its log), so that the submitted counts are final; then release the pool's own work
    // count so the workers leave once the queue is empty.
    {
      std::lock_guard lk(logs_mutex_);
      for (auto const& l : logs_)
        for (backoff b; l->active.load(std::memory_order_seq_cst);) b.pause();
    }
    gate_.fetch_or(drained, std::memory_order_seq_cst);
    progress_.fetch_add(1, std::memory_order_seq_cst);
    progress_.notify_all();  // a concurrent shutdown(true) waits for `drained` too
    pool_.wait();            // with no threads of its own, this only drops the work count
  }
  if (cancel_futures && !(prev & cancelling)) cancel_pending();
  if (!wait) return;
  if (t_current_pool == this)
    throw invalid_state_error(
        "shutdown(wait=true) from a worker of the same pool would wait "
        "for itself");
  // The submitted work first; then nothing that could complete a parked handler is left.
  for (;;) {
    auto const seen = progress_.load(std::memory_order_seq_cst);
    if ((gate_.load(std::memory_order_seq_cst) & drained) && all_finished()) break;
    progress_.wait(seen, std::memory_order_seq_cst);
  }
  drop_parked();
  join_workers();
}

void pool_core::join_workers() {
  std::lock_guard lk(join_mutex_);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void pool_core::orphan() noexcept {
  if (t_current_pool != this) {
    try {
      shutdown(true, false);
    } catch (...) {
      report_error(std::current_exception(), "thread pool shutdown failed");
    }
    return;
  }
  // On one of our own workers: nobody can wait here. The workers keep the core alive,
  // finish the submitted work, then (task_finished) let go of what is parked, and leave.
  orphaned_.store(true, std::memory_order_release);
  try {
    shutdown(false, false);
  } catch (...) {
    report_error(std::current_exception(), "thread pool shutdown failed");
  }
  {
    std::lock_guard lk(join_mutex_);
    for (auto& t : threads_)
      if (t.joinable()) t.detach();
  }
  if ((gate_.load(std::memory_order_seq_cst) & drained) && all_finished()) drop_parked();
}

}  // namespace detail

thread_pool_executor::thread_pool_executor(thread_pool_options options)
    : core_(std::make_shared<detail::pool_core>(std::move(options))) {
  core_->start(core_);
}

thread_pool_executor::~thread_pool_executor() {
  core_->orphan();
}

}  // namespace futura
