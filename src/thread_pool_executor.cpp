// The non-template half of thread_pool_executor: threads, admission, shutdown.
#include <futura/thread_pool_executor.hpp>

#include <algorithm>
#include <stdexcept>

#if defined(__linux__)
#include <pthread.h>
#endif

namespace futura {
namespace {

thread_local thread_pool_executor const* t_current_pool = nullptr;
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

}  // namespace detail

thread_pool_executor::thread_pool_executor(thread_pool_options options)
    : options_(std::move(options)) {
  auto const n = worker_count(options_.max_workers);
  if (options_.thread_name_prefix.empty())
    options_.thread_name_prefix = "futura-" + std::to_string(g_pool_counter.fetch_add(1));
  threads_.reserve(n);
  try {
    for (std::size_t i = 0; i < n; ++i)
      threads_.emplace_back(&thread_pool_executor::worker, this, i,
                            options_.thread_name_prefix + "_" + std::to_string(i));
  } catch (...) {
    shutdown(true);
    throw;
  }
}

thread_pool_executor::~thread_pool_executor() {
  shutdown(true);
}

void thread_pool_executor::worker(std::size_t, std::string name) {
  set_thread_name(name);
  t_current_pool = this;
  if (options_.initializer) {
    try {
      options_.initializer();
    } catch (...) {
      detail::report_error(std::current_exception(), "Exception in initializer:");
      gate_.fetch_or(broken, std::memory_order_acq_rel);
      fail_pending();
      // Still serve the queue: whatever was submitted fails with broken_thread_pool
      // instead of waiting for a worker that will never come.
    }
  }
  for (;;) {
    try {
      pool_.attach();  // runs until shutdown and the queue is drained
      return;
    } catch (...) {  // a raw handler posted to get_executor() threw
      detail::report_error(std::current_exception(), "Exception in a thread pool handler:");
    }
  }
}

void thread_pool_executor::enter() {
  auto const g = gate_.fetch_add(one_submit, std::memory_order_acquire);
  if (g & (shut_down | broken)) {
    gate_.fetch_sub(one_submit, std::memory_order_release);
    if (g & broken) std::rethrow_exception(broken_error());
    throw broken_executor("cannot schedule new futures after shutdown");
  }
}

void thread_pool_executor::cancel_pending() {
  auto const states = pending_.take_all();
  // Drops each reference taken by take_all(), whatever happens.
  struct release_from {
    std::vector<detail::state_base*> const& states;
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

void thread_pool_executor::fail_pending() noexcept {
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

std::exception_ptr thread_pool_executor::broken_error() const {
  return std::make_exception_ptr(broken_thread_pool());
}

void thread_pool_executor::shutdown(bool wait, bool cancel_futures) {
  auto const prev =
      gate_.fetch_or(shut_down | (cancel_futures ? cancelling : 0), std::memory_order_acq_rel);
  if (!(prev & shut_down)) {
    // Submits that passed the check are posting now; let them, then release the pool's
    // own work count so the workers leave once the queue is empty.
    for (detail::backoff b; gate_.load(std::memory_order_acquire) >= one_submit;) b.pause();
    pool_.wait();  // with no threads of its own, this only drops the work count
  }
  if (cancel_futures && !(prev & cancelling)) cancel_pending();
  if (!wait) return;
  if (t_current_pool == this)
    throw invalid_state_error(
        "shutdown(wait=true) from a worker of the same pool would wait "
        "for itself");
  std::lock_guard lk(join_mutex_);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

}  // namespace futura
