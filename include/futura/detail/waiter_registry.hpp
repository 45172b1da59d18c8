// futura/detail/waiter_registry.hpp: the waiters an execution context must not outlive.
//
// A waiter whose handler has its own executor posts the handler there when the future
// completes. If that executor's context is destroyed first (an io_context torn down while
// a coroutine awaits a thread-pool future), the post would reach freed memory. So such a
// waiter is listed in a service of the context; the service's shutdown takes every waiter
// off its future and destroys its handler uncalled, as Asio does with its own pending
// operations.
#ifndef FUTURA_DETAIL_WAITER_REGISTRY_HPP
#define FUTURA_DETAIL_WAITER_REGISTRY_HPP

#include <futura/detail/shared_state.hpp>

#include <boost/asio/execution_context.hpp>

#include <condition_variable>
#include <mutex>

namespace futura::detail {

class waiter_registry;

/// The part of a waiter the registry sees. While listed, it holds a reference to `listed_state`.
struct listed_waiter : node {
  listed_waiter* reg_prev = nullptr;
  listed_waiter* reg_next = nullptr;
  waiter_registry* registry = nullptr;
  state_base* listed_state = nullptr;
  bool completed_in_shutdown = false;  // guarded by the registry's mutex
  /// Destroys the waiter and its handler uncalled (the state reference is the caller's).
  void (*drop)(listed_waiter*) noexcept = nullptr;
};

class waiter_registry final
    : public boost::asio::detail::execution_context_service_base<waiter_registry> {
 public:
  explicit waiter_registry(boost::asio::execution_context& ctx)
      : execution_context_service_base<waiter_registry>(ctx) {}

  /// Lists `w`; false if the context is shutting down (nothing may be posted there).
  bool enter(listed_waiter* w);

  /// Unlists `w` and runs `post()` under the lock, so the context cannot shut down
  /// meanwhile. False if it is shutting down: then shutdown() owns `w`, which must not be
  /// touched again.
  template <class Post>
  bool leave_and(listed_waiter* w, Post&& post) {
    std::lock_guard lk(m_);
    if (down_) {
      w->completed_in_shutdown = true;
      cv_.notify_all();
      return false;
    }
    unlink(w);
    post();
    return true;
  }

  void shutdown() override;

 private:
  void unlink(listed_waiter* w) noexcept;

  std::mutex m_;
  std::condition_variable cv_;
  listed_waiter* head_ = nullptr;
  bool down_ = false;
};

}  // namespace futura::detail

#endif
