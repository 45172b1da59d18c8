// The non-template half of thread_pool_executor: threads, admission, shutdown.
#include <futura/thread_pool_executor.hpp>

#include <futura/detail/context_registry.hpp>

#include <algorithm>
#include <stdexcept>

#if defined(__linux__)
#include <pthread.h>
#endif

namespace futura {
namespace {

thread_local detail::pool_core const* t_current_pool = nullptr;
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

std::size_t pending_work::add(state_base* s) {
  std::lock_guard lk(mutex_);
  std::size_t slot;
  if (free_.empty()) {
    slots_.push_back({s, next_seq_});
    slot = slots_.size() - 1;
    try {
      free_.reserve(slots_.size());
    } catch (...) {
      slots_.pop_back();
      throw;
    }
  } else {
    slot = free_.back();
    free_.pop_back();
    slots_[slot] = {s, next_seq_};
  }
  ++next_seq_;
  return slot;
}

void pending_work::remove(std::size_t slot, state_base* s) noexcept {
  if (slot == none) return;
  std::lock_guard lk(mutex_);
  // take_all() may have emptied the slot already; it is never reused after that (no submit
  // passes shutdown), but a state pointer is only ever in the slot it was given.
  if (slots_[slot].state != s) return;
  slots_[slot].state = nullptr;
  free_.push_back(slot);
}

std::vector<state_base*> pending_work::take_all() {
  std::vector<entry> taken;
  {
    std::lock_guard lk(mutex_);
    taken.reserve(slots_.size() - free_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (!slots_[i].state) continue;
      slots_[i].state->add_ref();  // the worker may drop its task while we cancel
      taken.push_back(slots_[i]);
      slots_[i].state = nullptr;
      free_.push_back(i);
    }
  }
  std::sort(taken.begin(), taken.end(),
            [](entry const& a, entry const& b) { return a.seq < b.seq; });
  std::vector<state_base*> out;
  out.reserve(taken.size());
  for (auto const& e : taken) out.push_back(e.state);
  return out;
}

pool_core::pool_core(thread_pool_options options)
    : options_(std::move(options)), workers_(worker_count(options_.max_workers)) {
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

void pool_core::worker(std::shared_ptr<pool_core> /*self: keeps the pool alive*/, std::size_t,
                       std::string name) {
  set_thread_name(name);
  t_current_pool = this;
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

void pool_core::enter() {
  auto const g = gate_.fetch_add(one_submit, std::memory_order_acquire);
  if (g & (shut_down | broken)) {
    gate_.fetch_sub(one_submit, std::memory_order_release);
    if (g & broken) std::rethrow_exception(broken_error());
    throw broken_executor("cannot schedule new futures after shutdown");
  }
}

void pool_core::task_finished() noexcept {
  if (unfinished_.fetch_sub(1, std::memory_order_seq_cst) != 1) return;
  if (!(gate_.load(std::memory_order_seq_cst) & shut_down)) return;
  unfinished_.notify_all();  // shutdown(true) may wait for this
  if (orphaned_.load(std::memory_order_acquire)) drop_parked();
}

void pool_core::drop_parked() noexcept {
  try {
    context_registry::of(pool_).shutdown();
  } catch (...) {
    report_error(std::current_exception(), "cannot drop the handlers parked on a thread pool");
  }
}

void pool_core::cancel_pending() {
  auto const states = pending_.take_all();
  // Drops each reference taken by take_all(), whatever happens.
  struct release_from {
    std::vector<state_base*> const& states;
    std::size_t i = 0;
    ~release_from() {
      for (; i < states.size(); ++i) states[i]->release();
    }
  } guard{states};
  // Cancelling runs the futures' callbacks here, in the caller, as Python's shutdown does.
  for (; guard.i < states.size(); ++guard.i) {
    auto* const s = states[guard.i];
    s->cancel({});
    s->release();
  }
}

void pool_core::fail_pending() noexcept {
  try {
    auto const states = pending_.take_all();
    for (auto* s : states) {
      try {
        s->try_set_exception(broken_error());
      } catch (...) {  // bad_alloc: the worker that dequeues it fails it instead
      }
      s->release();
    }
  } catch (...) {  // bad_alloc in take_all: likewise
  }
}

std::exception_ptr pool_core::broken_error() const {
  return std::make_exception_ptr(broken_thread_pool());
}

void pool_core::shutdown(bool wait, bool cancel_futures) {
  auto const prev =
      gate_.fetch_or(shut_down | (cancel_futures ? cancelling : 0), std::memory_order_seq_cst);
  if (!(prev & shut_down)) {
    // Submits that passed the check are posting now; let them, then release the pool's
    // own work count so the workers leave once the queue is empty.
    for (backoff b; gate_.load(std::memory_order_acquire) >= one_submit;) b.pause();
    pool_.wait();  // with no threads of its own, this only drops the work count
  }
  if (cancel_futures && !(prev & cancelling)) cancel_pending();
  if (!wait) return;
  if (t_current_pool == this)
    throw invalid_state_error(
        "shutdown(wait=true) from a worker of the same pool would wait "
        "for itself");
  // The submitted work first; then nothing that could complete a parked handler is left.
  for (auto n = unfinished_.load(std::memory_order_seq_cst); n != 0;
       n = unfinished_.load(std::memory_order_seq_cst))
    unfinished_.wait(n, std::memory_order_seq_cst);
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
  if (unfinished_.load(std::memory_order_seq_cst) == 0) drop_parked();
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
