// futura/detail/context_registry.hpp: what an execution context must not outlive.
//
// Anything futura runs on an executor when a future completes (a done callback bound to an
// executor or posted to a loop, an async_wait handler, a coroutine waiting on a future from
// elsewhere) is a `bound_node` on that future's done list. If the executor's context is
// destroyed first, posting there would reach freed memory. So every such node is listed in
// the context's registry while its future is pending, and the registry is what a node
// posts through: under its lock, and only while the context lives. When the context shuts
// down, the registry closes, takes every listed node off its future and destroys it
// uncalled, as Asio destroys its own pending handlers. A post runs outside the registry's
// lock (posting to a strand that has shut down destroys the handler right there, which may
// come back to the registry), but counted in flight: shutdown waits for it. The registry itself is
// reference counted and outlives its context, so a loop-bound future can still ask it, safely,
// whether its loop is gone.
#ifndef FUTURA_DETAIL_CONTEXT_REGISTRY_HPP
#define FUTURA_DETAIL_CONTEXT_REGISTRY_HPP

#include <futura/detail/shared_state.hpp>

#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/system_executor.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <type_traits>
#include <utility>

namespace futura::detail {

class context_registry;

/// A node that, when its future completes, runs something on an execution context.
struct bound_node : node {
  bound_node* reg_prev = nullptr;
  bound_node* reg_next = nullptr;
  context_registry* registry = nullptr;  // where it is listed; null if nowhere
  state_base* listed_state = nullptr;    // the future it waits on, referenced while listed
  bool completed_in_shutdown = false;    // guarded by the registry's mutex
  /// Destroys the node and what it would have run, uncalled (the state reference is the
  /// caller's to drop).
  void (*drop)(bound_node*) noexcept = nullptr;
  /// What the node runs once it reached its executor: the callback, the handler. Frees the
  /// node before it calls out; may throw what a handler throws (it then leaves the
  /// executor's run(), as Asio's own handlers do).
  void (*run_posted)(bound_node*, state_base*) = nullptr;

  /// The future completed (or the node was removed from it): leaves the registry, running
  /// `post()` under its lock so that the context cannot shut down meanwhile, and drops the
  /// state reference the listing held. False if the registry has shut down: the node then
  /// belongs to its shutdown and must not be touched again.
  template <class Post>
  bool leave_and(Post&& post);
};

/// Something that holds an executor of the context whose destruction would need the
/// context (a strand: its implementation unlinks itself from the strand service when the
/// last copy goes). Listed in the registry, which releases the executor when the context
/// shuts down, under its lock; every use of the executor is under that lock too.
struct executor_holder {
  executor_holder* eh_prev = nullptr;
  executor_holder* eh_next = nullptr;
  void (*release_executor)(executor_holder*) noexcept = nullptr;
};

class context_registry {
 public:
  /// The registry of `ctx`: valid while `ctx` lives (add_ref() to keep it longer).
  static context_registry& of(boost::asio::execution_context& ctx);

  context_registry() = default;
  context_registry(context_registry const&) = delete;
  context_registry& operator=(context_registry const&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// True once the context has shut down: nothing may be posted there any more.
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  /// Held while a listed node is being added to its future: shutdown, which takes listed
  /// nodes off their futures, waits until the node is there.
  class publishing {
   public:
    publishing() = default;
    publishing(publishing&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
    publishing& operator=(publishing&&) = delete;
    ~publishing() {
      if (r_) r_->end_use();
    }

   private:
    friend class context_registry;
    explicit publishing(context_registry* r) noexcept : r_(r) {}
    context_registry* r_ = nullptr;
  };

  /// Lists `n`, which waits on `s`, with a reference to `s`; hold the result until `n` is
  /// on `s`'s list. Throws invalid_state_error ("Event loop is closed", Python's words for
  /// call_soon on a closed loop) if the context has shut down.
  [[nodiscard]] publishing enter(bound_node* n, state_base& s);

  /// Runs `f()` if the context is still alive, which it then stays until `f` returns (its
  /// shutdown waits); false, without running it, if it has shut down.
  template <class F>
  bool while_open(F&& f) {
    if (!begin_use()) return false;
    in_use guard{this};
    f();
    return true;
  }

  /// Lists `h`, whose executor is released at shutdown; released at once if the context
  /// has shut down already.
  void hold(executor_holder* h) noexcept;
  /// Unlists `h` (it is being destroyed), unless shutdown released it already.
  void unhold(executor_holder* h) noexcept;

  /// The context is shutting down: closes, releases the held executors, then destroys
  /// every listed node uncalled.
  void shutdown();

 private:
  friend struct bound_node;
  ~context_registry() = default;
  void unlink(bound_node* n) noexcept;
  void handed_to_shutdown(bound_node* n) noexcept;  // called with m_ held
  // Counted without the lock: shutdown publishes closed_, then waits for in_use_ to drain;
  // a user counts itself in, then checks closed_ (seq_cst on both sides: one of the two
  // sees the other).
  bool begin_use() noexcept {
    in_use_.fetch_add(1, std::memory_order_seq_cst);
    if (!closed_.load(std::memory_order_seq_cst)) return true;
    end_use();
    return false;
  }
  /// begin_use() for a caller that holds m_ and saw closed_ false: shutdown, which sets
  /// closed_ under m_ before it waits, is bound to see the count.
  context_registry* count_in_locked() noexcept {
    in_use_.fetch_add(1, std::memory_order_seq_cst);
    return this;
  }
  void end_use() noexcept {
    if (in_use_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        closed_.load(std::memory_order_seq_cst)) {
      std::lock_guard lk(m_);  // shutdown is waiting, or has yet to look
      cv_.notify_all();
    }
  }
  struct in_use {
    context_registry* r;
    ~in_use() { r->end_use(); }
  };

  std::mutex m_;
  std::condition_variable cv_;
  bound_node* head_ = nullptr;
  executor_holder* holders_ = nullptr;
  std::atomic<std::size_t> in_use_{0};  // while_open() calls and posts running now
  bool holders_released_ = false;
  std::atomic<bool> closed_{false};
  std::atomic<unsigned> refs_{1};
};

template <class Post>
bool bound_node::leave_and(Post&& post) {
  // `post()` may hand the node to another thread, which may run and free it at once:
  // nothing of it is touched after that. Its fields change only under the lock: shutdown
  // reads them once it has taken the list.
  auto* const reg = registry;  // set by enter() before the node was published
  if (!reg) {
    post();
    return true;
  }
  state_base* s;
  {
    std::lock_guard lk(reg->m_);
    if (reg->closed_.load(std::memory_order_relaxed)) {
      reg->handed_to_shutdown(this);
      return false;
    }
    reg->unlink(this);
    s = std::exchange(listed_state, nullptr);
    registry = nullptr;
    reg->count_in_locked();
  }
  {
    context_registry::in_use guard{reg};
    post();
  }
  s->release();
  return true;
}

/// A bound node posted to an executor, with a reference to its state: runs the node there,
/// or drops it if the executor destroys the work unrun (its context shut down).
class posted_node {
 public:
  posted_node(bound_node* n, state_base* s) noexcept : n_(n), s_(s) { s_->add_ref(); }
  posted_node(posted_node&& o) noexcept
      : n_(std::exchange(o.n_, nullptr)), s_(std::exchange(o.s_, nullptr)) {}
  posted_node& operator=(posted_node&&) = delete;
  ~posted_node() {
    if (n_) n_->drop(n_);
    if (s_) s_->release();
  }
  void operator()() {
    bound_node* const n = std::exchange(n_, nullptr);
    n->run_posted(n, s_);
  }

 private:
  bound_node* n_;
  state_base* s_;
};

/// The execution context an executor runs on, or nullptr if it does not say.
template <class Executor>
boost::asio::execution_context* context_of(Executor const& ex) noexcept {
  if constexpr (requires { static_cast<bool>(ex); }) {
    if (!static_cast<bool>(ex)) return nullptr;  // an empty any_io_executor
  }
  try {
    if constexpr (requires { boost::asio::query(ex, boost::asio::execution::context); })
      return &boost::asio::query(ex, boost::asio::execution::context);
    else if constexpr (requires { ex.context(); })
      return &ex.context();
  } catch (...) {
  }
  return nullptr;
}

/// The registry of the context `ex` runs on (valid while that context lives), or nullptr.
template <class Executor>
context_registry* registry_of(Executor const& ex) {
  auto* ctx = context_of(ex);
  return ctx ? &context_registry::of(*ctx) : nullptr;
}

/// Lists `n`, which waits on `s` to run something on `ex`, where it must be listed: in the
/// registry of ex's context; with no executor of its own (a system_executor), in that of
/// s's loop, if s is loop-bound. Hold the result until `n` is on `s`'s list.
template <class Executor>
[[nodiscard]] context_registry::publishing enlist(bound_node& n, state_base& s,
                                                  Executor const& ex) {
  if constexpr (!std::is_same_v<Executor, boost::asio::system_executor>) {
    if (auto* ctx = context_of(ex)) return context_registry::of(*ctx).enter(&n, s);
  } else if (s.is_loop_bound()) {
    if (auto* r = s.loop_registry()) return r->enter(&n, s);
  }
  return {};
}

}  // namespace futura::detail

#endif
