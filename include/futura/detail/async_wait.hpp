// futura/detail/async_wait.hpp: waiting for a future as an Asio asynchronous operation,
// and `co_await fut` inside boost::asio::awaitable<>. Included by future.hpp.
//
// A waiter is one node on the future's done list. When the future completes, the node
// posts the handler to the handler's associated executor (tracking work there, so that
// run() does not return while a coroutine waits on a thread-pool future), or to the
// future's loop, or runs it in the completing thread when it has neither. The handler's
// cancellation slot, if connected, cancels the future: asyncio's "cancelling the awaiter
// cancels what it awaits".
#ifndef FUTURA_DETAIL_ASYNC_WAIT_HPP
#define FUTURA_DETAIL_ASYNC_WAIT_HPP

#include <futura/detail/io_executor.hpp>
#include <futura/detail/waiter_registry.hpp>
#include <futura/future.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/system_executor.hpp>

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace futura::detail {

template <class T>
using awaited_t =
    std::conditional_t<std::is_void_v<T> || std::is_reference_v<T>, T, std::remove_cv_t<T>>;

/// The value a waiter receives: a copy, or the value itself when T cannot be copied (a
/// move-only result can be awaited once).
template <class T>
awaited_t<T> value_for_waiter(state<T>& s) {
  if constexpr (std::is_void_v<T> || std::is_reference_v<T> || std::is_copy_constructible_v<T>)
    return s.get();
  else
    return std::move(s.get());
}

/// Calls `h(exception_ptr[, T])` with the outcome of a finished state, or with
/// broken_promise when the future was dropped unfinished (`s` null).
template <class T, class Handler>
void deliver(Handler& h, state<T>* s) {
  std::exception_ptr e = s ? s->outcome_exception() : std::make_exception_ptr(broken_promise());
  if constexpr (std::is_void_v<T>) {
    std::move(h)(std::move(e));
  } else if (!e) {
    std::move(h)(std::exception_ptr(), value_for_waiter(*s));
  } else {
    static_assert(std::is_reference_v<T> || std::is_default_constructible_v<T>,
                  "async_wait delivers (exception_ptr, T) and needs a default T for the "
                  "error case; co_await the future instead");
    if constexpr (std::is_reference_v<T>) {
      std::remove_reference_t<T>* none = nullptr;
      std::move(h)(std::move(e), *none);  // never read: the error comes first
    } else {
      std::move(h)(std::move(e), T{});
    }
  }
}

/// Cancels the awaited future when the waiter's cancellation slot is emitted.
template <class T>
struct cancel_on_emit {
  future<T> f;
  void operator()(boost::asio::cancellation_type) const { (void)f.cancel(); }
};

/// Marks the thread while an Asio operation's handler completes its future, from inside
/// a handler the io_context is running. Waiters whose handlers run anywhere on that same
/// io_context then resume at once, as use_awaitable does, instead of taking one more turn
/// of the loop. Completions from user code (set_result) are still posted: asyncio never
/// runs a waiter inside set_result.
///
/// The io_context is worked out only if a waiter asks: most completions have none.
class op_completion_scope {
 public:
  using resolver = boost::asio::io_context* (*)(void const*) noexcept;

  op_completion_scope(resolver r, void const* arg) noexcept
      : saved_(std::exchange(current_, this)), resolve_(r), arg_(arg) {}
  ~op_completion_scope() { current_ = saved_; }
  op_completion_scope(op_completion_scope const&) = delete;
  op_completion_scope& operator=(op_completion_scope const&) = delete;

  /// The io_context whose handler is completing an operation's future on this thread.
  static boost::asio::io_context* current() noexcept {
    return current_ ? current_->resolve_(current_->arg_) : nullptr;
  }

 private:
  static inline thread_local op_completion_scope* current_ = nullptr;
  op_completion_scope* saved_;
  resolver resolve_;
  void const* arg_;
};

template <class Handler>
using tracked_executor_t = std::decay_t<decltype(boost::asio::prefer(
    boost::asio::get_associated_executor(std::declval<Handler const&>()),
    boost::asio::execution::outstanding_work.tracked))>;

template <class Handler>
inline constexpr bool has_own_executor_v =
    !std::is_same_v<boost::asio::associated_executor_t<Handler>, boost::asio::system_executor>;

/// The node that waits for a future on behalf of an Asio handler. `Resume(handler, state*)`
/// finally invokes the handler, on its executor. `Track`: hold outstanding work on that
/// executor meanwhile, so run() does not return while the handler waits (a coroutine
/// needs none: co_spawn holds work for its whole life).
template <class T, class Handler, void (*Resume)(Handler&, state<T>*), bool Track = true>
class waiter final : public listed_waiter {
  static constexpr bool track = Track && has_own_executor_v<Handler>;

  using alloc_t = typename std::allocator_traits<boost::asio::associated_allocator_t<
      Handler, boost::asio::recycling_allocator<void>>>::template rebind_alloc<waiter>;

 public:
  /// Starts waiting on `s`: the handler runs once it is done (never inside this call).
  static void start(state<T>& s, Handler&& h) {
    alloc_t alloc(
        boost::asio::get_associated_allocator(h, boost::asio::recycling_allocator<void>()));
    waiter* w = std::allocator_traits<alloc_t>::allocate(alloc, 1);
    ::new (static_cast<void*>(w)) waiter(std::move(h));
    auto slot = boost::asio::get_associated_cancellation_slot(w->h_);
    if (slot.is_connected()) {
      s.add_ref();
      slot.template emplace<cancel_on_emit<T>>(cancel_on_emit<T>{adopt(&s)});
    }
    if constexpr (has_own_executor_v<Handler>) {
      if (!s.done() && !w->enlist(s)) return;  // the handler's context is shutting down
    }
    s.add_node(w);  // if already done, this runs complete(), which posts
  }

 private:
  explicit waiter(Handler&& h) : h_(std::move(h)), work_(make_work(h_)) {
    complete = &on_complete;
    drop = [](listed_waiter* w) noexcept { drop_waiter(static_cast<waiter*>(w)); };
  }

  /// Lists this waiter in the registry of its handler's execution context, with a
  /// reference to `s`. False if that context is shutting down: the waiter is destroyed.
  bool enlist(state<T>& s) {
    auto const ex = boost::asio::get_associated_executor(h_);
    if constexpr (requires { boost::asio::query(ex, boost::asio::execution::context); }) {
      auto& ctx = boost::asio::query(ex, boost::asio::execution::context);
      auto& registry = boost::asio::use_service<waiter_registry>(ctx);
      s.add_ref();
      listed_state = &s;
      if (!registry.enter(this)) {
        listed_state = nullptr;
        s.release();
        drop_waiter(this);
        return false;
      }
    }
    return true;
  }

  static auto make_work(Handler const& h) {
    if constexpr (track)
      return boost::asio::prefer(boost::asio::get_associated_executor(h),
                                 boost::asio::execution::outstanding_work.tracked);
    else
      return 0;
  }

  /// The node's one run: `s` null means the future was dropped unfinished.
  static void on_complete(node* n, state_base* sb) noexcept {
    auto* self = static_cast<waiter*>(n);
    auto* s = static_cast<state<T>*>(sb);
    if constexpr (has_own_executor_v<Handler>) {
      auto const ex = boost::asio::get_associated_executor(self->h_);
      auto* const mine = s ? unordered_io_context_of(ex) : nullptr;
      bool const at_once = mine && mine == op_completion_scope::current();
      if (auto* registry = self->registry) {
        // Listed: `s` is our reference. Leave the list before the context may go.
        if (at_once) {
          if (!registry->leave_and(self, [] {})) return;  // shutdown owns it now
          resume_now(self, s);
          s->release();
        } else {
          (void)registry->leave_and(self, [&] {
            if constexpr (track)
              boost::asio::post(self->work_, resumer{self, s});
            else
              boost::asio::post(ex, resumer{self, s});
          });
        }
        return;
      }
      if (at_once) return resume_now(self, s);
      if (s) s->add_ref();
      if constexpr (track)
        boost::asio::post(self->work_, resumer{self, s});
      else
        boost::asio::post(ex, resumer{self, s});
    } else if (s && s->is_loop_bound()) {
      self->complete = &resume_on_loop;
      s->post(self);
    } else {
      resume_now(self, s);
    }
  }

  static void resume_now(node* n, state_base* sb) noexcept {
    auto* self = static_cast<waiter*>(n);
    boost::asio::get_associated_cancellation_slot(self->h_).clear();  // drops its handle
    Handler h(std::move(self->h_));
    destroy(self);  // before the upcall: the handler may start another wait
    Resume(h, static_cast<state<T>*>(sb));
  }

  /// Posted to the future's loop. `s` null: the loop dropped it unrun (its io_context
  /// destroyed), so the handler is destroyed uncalled, as Asio does with its own handlers.
  /// Calling it would deliver broken_promise for a future that has an outcome, from inside
  /// ~io_context.
  static void resume_on_loop(node* n, state_base* sb) noexcept {
    if (sb) return resume_now(n, sb);
    drop_waiter(static_cast<waiter*>(n));
  }

  /// Destroys the waiter and its handler uncalled.
  static void drop_waiter(waiter* self) noexcept {
    boost::asio::get_associated_cancellation_slot(self->h_).clear();  // drops its handle
    destroy(self);
  }

  static void destroy(waiter* self) noexcept {
    alloc_t alloc(
        boost::asio::get_associated_allocator(self->h_, boost::asio::recycling_allocator<void>()));
    self->~waiter();
    std::allocator_traits<alloc_t>::deallocate(alloc, self, 1);
  }

  /// Posted to the handler's executor; if the executor drops it unrun, so is the handler.
  struct resumer {
    waiter* self;
    state<T>* s;
    resumer(waiter* w, state<T>* st) noexcept : self(w), s(st) {}
    resumer(resumer&& o) noexcept
        : self(std::exchange(o.self, nullptr)), s(std::exchange(o.s, nullptr)) {}
    ~resumer() {
      if (self) drop_waiter(self);
      if (s) s->release();
    }
    void operator()() {
      state<T>* const st = s;
      resume_now(std::exchange(self, nullptr), st);
    }
  };

  Handler h_;
  std::conditional_t<track, tracked_executor_t<Handler>, int> work_;
};

template <class T>
struct wait_signature {
  using type = void(std::exception_ptr, T);
};
template <>
struct wait_signature<void> {
  using type = void(std::exception_ptr);
};

template <class T>
struct initiate_wait {
  template <class Handler>
  void operator()(Handler&& h, future<T> const& f) const {
    using handler_t = std::decay_t<Handler>;
    waiter<T, handler_t, &deliver<T, handler_t>>::start(*state_of(f),
                                                        handler_t(std::forward<Handler>(h)));
  }
};

}  // namespace futura::detail

namespace futura {

template <class T>
template <class Token>
auto future<T>::async_wait(Token&& token) const {
  checked();
  return boost::asio::async_initiate<Token, typename detail::wait_signature<T>::type>(
      detail::initiate_wait<T>{}, token, *this);
}

}  // namespace futura

namespace boost::asio::detail {

/// `co_await fut` on a named future inside awaitable<>. Asio 1.26 builds this awaiter for
/// any async operation but binds it to an rvalue and cannot resume a
/// void(exception_ptr, T) signature; this one copies the handle (one reference count),
/// skips suspension when the future is already done, and reads the outcome straight from
/// the shared state, so the value is never copied on the way.
template <class Signature, class T, class Executor>
class awaitable_async_op<Signature, futura::future<T>, Executor> {
  using resume_handler = awaitable_async_op_handler<void(), Executor>;

 public:
  awaitable_async_op(futura::future<T> const& f, awaitable_frame_base<Executor>* frame)
      : f_(f), frame_(frame) {}

  bool await_ready() const noexcept { return f_.done(); }

  void await_suspend(coroutine_handle<void>) {
    frame_->after_suspend(
        [](void* arg) {
          auto* self = static_cast<awaitable_async_op*>(arg);
          typename resume_handler::result_type unused;
          futura::detail::waiter<T, resume_handler, &resume, false>::start(
              *futura::detail::state_of(self->f_),
              resume_handler(self->frame_->detach_thread(), unused));
        },
        this);
  }

  /// The value (a copy; moved out for a move-only T), or rethrows.
  futura::detail::awaited_t<T> await_resume() {
    auto& s = *futura::detail::state_of(f_);
    s.get();  // rethrows an error or cancellation
    return futura::detail::value_for_waiter(s);
  }

 private:
  static void resume(resume_handler& h, futura::detail::state<T>*) { std::move(h)(); }

  futura::future<T> f_;
  awaitable_frame_base<Executor>* frame_;
};

}  // namespace boost::asio::detail

#endif
