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

thread_pool_executor::~thread_pool_executor() { shutdown(true); }

void thread_pool_executor::worker(std::size_t, std::string name) {
  set_thread_name(name);
  t_current_pool = this;
  if (options_.initializer) {
    try {
      options_.initializer();
    } catch (...) {
      detail::report_error(std::current_exception(), "Exception in initializer:");
      gate_.fetch_or(broken, std::memory_order_acq_rel);
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
  if (!wait) return;
  if (t_current_pool == this)
    throw invalid_state_error("shutdown(wait=true) from a worker of the same pool would wait "
                              "for itself");
  std::lock_guard lk(join_mutex_);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

}  // namespace futura
