// futura/detail/loop_state.hpp: shared states that know an executor. A loop-bound state
// posts its done callbacks to its loop and refuses a blocking wait from the loop's own
// thread; an operation state can also interrupt its producer through a cancellation
// signal that lives in the same allocation.
#ifndef FUTURA_DETAIL_LOOP_STATE_HPP
#define FUTURA_DETAIL_LOOP_STATE_HPP

#include <futura/detail/context_registry.hpp>
#include <futura/detail/io_executor.hpp>
#include <futura/future.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace futura::detail {

/// Futures whose executor runs on an io_context are asyncio's: loop-bound. On a thread
/// pool they are concurrent.futures': callbacks inline, blocking result() allowed.
template <class Executor>
bool is_loop_executor(Executor const& ex) noexcept {
  return io_context_of(ex) != nullptr;
}

/// A state `Base` allocated with `Alloc` (Asio's rule: an operation allocates with its
/// completion token's allocator), which it keeps, to free itself with.
template <class Base, class Alloc>
class allocated final : public Base {
  using alloc_t = typename std::allocator_traits<Alloc>::template rebind_alloc<allocated>;

 public:
  template <class... A>
  static allocated* create(Alloc const& a, A&&... args) {
    alloc_t al(a);
    auto* p = std::allocator_traits<alloc_t>::allocate(al, 1);
    try {
      return ::new (static_cast<void*>(p)) allocated(a, std::forward<A>(args)...);
    } catch (...) {
      std::allocator_traits<alloc_t>::deallocate(al, p, 1);
      throw;
    }
  }

 private:
  template <class... A>
  explicit allocated(Alloc const& a, A&&... args) : Base(std::forward<A>(args)...), alloc_(a) {}
  void destroy() noexcept override {
    this->on_destroy();
    alloc_t al(alloc_);
    this->~allocated();
    std::allocator_traits<alloc_t>::deallocate(al, this, 1);
  }

  Alloc alloc_;
};

/// A state that knows its executor (create_future(executor), create_task, use_future), and
/// holds the registry of its executor's context, which outlives the context: so it can
/// tell, without touching a context that may be gone, whether it may still post there.
/// Every use of the executor is under that registry's lock, while the context is open; an
/// executor that must not outlive its context (a strand) is released at its shutdown.
template <class T, class Executor>
class loop_state : public state<T>, protected executor_holder {
 public:
  static loop_state* create(Executor ex) {
    return new loop_state(std::move(ex), state_base::loop_bound);
  }

  /// Called through the registry (the loop is alive).
  void post_node(bound_node* n, state_base& owner) noexcept override {
    try {
      post_safely(*ex_, posted_node(n, &owner));
    } catch (...) {  // posted_node dropped n
      report_error(std::current_exception(), "cannot post a done callback to its loop");
    }
  }

  bool in_loop_thread() const noexcept override {
    bool in = false;
    auto const look = [&] {
      auto* io = ex_ ? io_context_of(*ex_) : nullptr;
      in = io && io->get_executor().running_in_this_thread();
    };
    if (registry_)
      registry_->while_open(look);  // a loop that is gone runs nowhere
    else
      look();
    return in;
  }

  context_registry* loop_registry() const noexcept override { return registry_; }

  // States made and dropped on a loop's threads come from Asio's per-thread cache, as the
  // loop's own operations do.
  static void* operator new(std::size_t size) {
    return boost::asio::recycling_allocator<unsigned char>().allocate(size);
  }
  static void operator delete(void* p, std::size_t size) noexcept {
    boost::asio::recycling_allocator<unsigned char>().deallocate(static_cast<unsigned char*>(p),
                                                                 size);
  }

 protected:
  loop_state(Executor ex, std::uint8_t traits, std::uint32_t initial_status = pending,
             std::uint32_t initial_refs = 1)
      : state<T>(traits, initial_status, initial_refs), ex_(std::move(ex)) {
    release_executor = [](executor_holder* h) noexcept {
      static_cast<loop_state*>(h)->ex_.reset();
    };
    adopt_registry(registry_of(*ex_));
  }
  ~loop_state() override {
    if (registry_) {
      if (held_) registry_->unhold(this);
      registry_->release();
    }
  }

  /// Takes a reference to `r` (the registry of ex_'s context), listing this state there if
  /// its executor must be released with the context.
  void adopt_registry(context_registry* r) noexcept {
    if (!(registry_ = r)) return;
    r->add_ref();
    if ((held_ = needs_live_context(*ex_))) r->hold(this);
  }

  std::optional<Executor> ex_;  // empty once released (or, for a late executor, not offered)
  context_registry* registry_ = nullptr;  // a reference; null if the executor names no context
  bool held_ = false;
};

/// The state of an Asio operation or a task: a loop state whose running producer can be
/// interrupted. cancel() records the request, then emits the signal on the operation's own
/// executor (cancellation signals are not thread-safe, and an operation's slot is only
/// ever touched there): at once if the caller is running that executor, as the I/O
/// object's own cancel() would, so that destroying the object right after is safe; from
/// any other thread, two turns later, behind what that executor already had queued, so
/// that an operation whose completion was queued meanwhile (its I/O object destroyed, say)
/// is not emitted into. It emits only while the future is pending: after that the
/// operation's cancellation handler may refer to a destroyed I/O object. A task's
/// cancellation is always posted (see create_task_state).
template <class T, class Executor>
class op_state : public loop_state<T, Executor> {
 public:
  /// `started`: the operation is under way already (running), and the state is created
  /// with the references of the future and of the handler. `alloc`: allocate it with
  /// that allocator (the completion token's); null: Asio's per-thread cache.
  template <class Alloc = void>
  static op_state* create(Executor ex, bool started = false, Alloc const* alloc = nullptr) {
    auto const loop = is_loop_executor(ex) ? state_base::loop_bound : state_base::plain;
    return make(alloc, std::move(ex), loop | state_base::interruptible, started ? running : pending,
                started ? 2 : 1);
  }
  /// The state of a task: its cancellation is always posted, so that it reaches the
  /// coroutine where it is suspended (a task cancelling itself gets it at its next
  /// co_await, as in asyncio), never while it runs.
  static op_state* create_task_state(Executor ex) {
    auto const loop = is_loop_executor(ex) ? state_base::loop_bound : state_base::plain;
    auto* s =
        new op_state(std::move(ex), loop | state_base::interruptible | state_base::suppressible);
    s->task_ = true;
    return s;
  }

  /// An operation whose initiation names no executor and no I/O object (a parallel_group,
  /// a deferred chain): its cancellation slot can only be emitted on the executor of the
  /// coroutine that awaits it, which offers it (offer_executor) when it starts waiting.
  /// Until then cancel() returns false: there is nowhere to emit it safely.
  template <class Alloc = void>
  static op_state* create_late(Alloc const* alloc = nullptr) requires
      std::is_same_v<Executor, boost::asio::any_io_executor> {
    auto* s =
        make(alloc, Executor(), state_base::interruptible | state_base::late_executor, running, 2);
    s->ex_.reset();
    return s;
  }

  boost::asio::cancellation_slot slot() noexcept { return signal_.slot(); }

 protected:
  using loop_state<T, Executor>::loop_state;

 private:
  template <class Alloc, class... A>
  static op_state* make(Alloc const* alloc, A&&... args) {
    if constexpr (std::is_void_v<Alloc>)
      return new op_state(std::forward<A>(args)...);
    else
      return allocated<op_state, Alloc>::create(*alloc, std::forward<A>(args)...);
  }

  void offer_executor(void const* any_io_ex) noexcept override {
    if constexpr (std::is_same_v<Executor, boost::asio::any_io_executor>) {
      auto const& offered = *static_cast<boost::asio::any_io_executor const*>(any_io_ex);
      context_registry* const reg = registry_of(offered);
      if (!reg) return;  // an executor that names no context cannot be kept safely
      bool const held = needs_live_context(offered);
      auto const w = this->lock();
      bool const take = !this->registry_ && !is_done(w);
      if (take) {  // under the lock: with_executor() reads them there
        this->ex_ = offered;
        this->registry_ = reg;
        this->held_ = held;
        reg->add_ref();
      }
      this->unlock(w);
      if (take && held) reg->hold(this);
    }
  }

  /// Runs `f(executor)` where the executor may be used: under its registry's lock while
  /// its context is open. False if there is none: released with its context, or a late
  /// executor not offered yet (for those, registry_ and ex_ are read under the lock).
  template <class F>
  bool with_executor(F&& f) noexcept {
    bool const late = this->traits() & state_base::late_executor;
    context_registry* reg = this->registry_;
    if (late) {
      auto const w = this->lock();
      if ((reg = this->registry_)) reg->add_ref();
      this->unlock(w);
      if (!reg) return false;
    }
    bool ran = false;
    auto const body = [&] {
      if (late) {
        auto const w = this->lock();
        std::optional<Executor> copy = this->ex_;
        this->unlock(w);
        if (copy) f(*copy), ran = true;
      } else if (this->ex_) {
        f(*this->ex_), ran = true;
      }
    };
    if (reg)
      reg->while_open(body);
    else
      body();  // no context: never released
    if (late) reg->release();
    return ran;
  }

  bool interrupt(std::exception_ptr why) noexcept override {
    bool now = false, noted = false;
    bool const reachable = with_executor([&](Executor const& ex) {
      if (!(noted = this->note_cancel_request(std::move(why)))) return;
      now = !task_ && running_in_this_thread(ex);
      if (!now) post_emit(ex, task_ ? 1 : 2);
    });
    if (!reachable) return false;  // nowhere to emit it
    if (!noted) return this->status() == cancelled;
    if (now) emit();
    return true;
  }

  /// Posts the emission `hops` turns later on `ex`, which is alive (we are called on it,
  /// or under its registry's lock).
  void post_emit(Executor const& ex, int hops) noexcept {
    try {
      this->add_ref();  // for the handle the lambda adopts
      post_safely(ex, [ref = adopt<T>(this), ex, hops] {
        auto* self = static_cast<op_state*>(state_of(ref));
        if (self->done()) return;
        if (hops > 1)
          self->post_emit(ex, hops - 1);
        else
          self->emit();
      });
    } catch (...) {
      report_error(std::current_exception(), "cannot post a cancellation to its executor");
    }
  }

  void emit() noexcept {
    if (this->done()) return;
    std::string const msg = cancel_message_of(this->cancel_request_message());
    emitting_cancel scope(msg);
    signal_.emit(boost::asio::cancellation_type::all);
  }

  boost::asio::cancellation_signal signal_;
  bool task_ = false;
};

}  // namespace futura::detail

#endif
