// futura/detail/async_wait.hpp: waiting for a future as an Asio asynchronous operation,
// and `co_await fut` inside boost::asio::awaitable<>. Included by future.hpp.
//
// A waiter is one bound node on the future's done list. When the future completes, the
// node posts the handler to the handler's associated executor (tracking work there, so
// that run() does not return while a coroutine waits on a thread-pool future), or to the
// future's loop, or runs it in the completing thread when it has neither; always through
// the registry of the context it posts to, so never to a context that is gone.
//
// Cancellation follows asyncio. When the handler's cancellation slot is emitted, the
// waiter cancels the future; if the future's producer takes the request (a pending
// future, an operation, a task), the waiter waits for the outcome it ends with. If it
// cannot (a pool task already running), the waiter stops waiting at once and delivers
// cancelled_error; the future runs on.
#ifndef FUTURA_DETAIL_ASYNC_WAIT_HPP
#define FUTURA_DETAIL_ASYNC_WAIT_HPP

#include <futura/detail/context_registry.hpp>
#include <futura/detail/io_executor.hpp>
#include <futura/future.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/system_executor.hpp>

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace futura::detail {

/// What `co_await` on a future<T> gives: a T (void for the type-erased future<>).
template <class T>
using awaited_t = std::conditional_t<
    std::is_same_v<T, any_result>, void,
    std::conditional_t<std::is_void_v<T> || std::is_reference_v<T>, T, std::remove_cv_t<T>>>;

/// The value a waiter receives: a copy, or, when T cannot be copied, the value itself,
/// moved out of the future by the first waiter to ask (the others, and any later
/// result(), get invalid_state_error: nobody ever sees a moved-from value).
template <class T>
awaited_t<T> value_for_waiter(state<T>& s) {
  if constexpr (state<T>::copyable)
    return s.get();
  else
    return s.take();
}
/// ... of a future<>: no value, only the failure.
inline void value_for_waiter(state_base& s) {
  if (s.status() != value) s.rethrow_error();
}

/// The message of the cancellation being emitted by this thread, for whatever the
/// emission reaches: a waiter cancels the future it waits on with it, so that
/// `task.cancel("why")` reaches the awaiting coroutine as cancelled_error("why").
class emitting_cancel {
 public:
  explicit emitting_cancel(std::string_view msg) noexcept
      : saved_(std::exchange(current_, this)), msg_(msg) {}
  ~emitting_cancel() { current_ = saved_; }
  emitting_cancel(emitting_cancel const&) = delete;
  emitting_cancel& operator=(emitting_cancel const&) = delete;
  static std::string_view message() noexcept { return current_ ? current_->msg_ : ""; }

 private:
  static inline thread_local emitting_cancel* current_ = nullptr;
  emitting_cancel* saved_;
  std::string_view msg_;
};

/// Set while an Asio operation's handler completes its future (use_future's handler).
/// Waiters of that future whose executor this thread is running then resume right after
/// the completion, in the same handler, as use_awaitable does, instead of taking one more
/// turn of the loop; and only for that completion: the scope is closed before they
/// resume, so what they complete in turn is posted as usual. Completions from user code
/// (set_result) are always posted: asyncio never runs a waiter inside set_result.
class op_completion_scope {
 public:
  explicit op_completion_scope(state_base& s) noexcept
      : saved_(std::exchange(current_, this)), state_(&s) {}
  ~op_completion_scope() {
    close();
    while (head_) {  // only if the completion itself threw: still resume, report
      try {
        resume_deferred();
      } catch (...) {
        report_error(std::current_exception(), "exception in a resumed handler");
      }
    }
  }
  op_completion_scope(op_completion_scope const&) = delete;
  op_completion_scope& operator=(op_completion_scope const&) = delete;

  /// The scope completing `s` on this thread, if any.
  static op_completion_scope* of(state_base const* s) noexcept {
    return current_ && current_->open_ && current_->state_ == s ? current_ : nullptr;
  }
  /// Resumes `n` (a waiter that left its registry) once the completion is over.
  void defer(bound_node* n) noexcept {
    n->reg_next = nullptr;
    *tail_ = n;
    tail_ = &n->reg_next;
  }
  /// Ends the scope, then resumes the deferred waiters in order. A handler that throws
  /// leaves through here (out of the operation's handler, out of run()) after the others
  /// have resumed.
  void resume_deferred() {
    close();
    std::exception_ptr first;
    while (bound_node* const n = head_) {
      head_ = n->reg_next;
      if (!head_) tail_ = &head_;
      try {
        n->run_posted(n, state_);
      } catch (...) {
        if (first)
          report_error(std::current_exception(), "exception in a resumed handler");
        else
          first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
  }

 private:
  void close() noexcept {
    if (open_) current_ = saved_, open_ = false;
  }

  static inline thread_local op_completion_scope* current_ = nullptr;
  op_completion_scope* saved_;
  state_base* state_;
  bound_node* head_ = nullptr;
  bound_node** tail_ = &head_;
  bool open_ = true;
};

template <class Executor>
void state_base::offer_executor_of(Executor const& ex) noexcept {
  if (!(traits_ & late_executor)) return;
  if constexpr (std::is_constructible_v<boost::asio::any_io_executor, Executor const&>) {
    try {
      boost::asio::any_io_executor const any(ex);
      offer_executor(&any);
    } catch (...) {  // out of memory: the operation stays uncancellable
    }
  }
}

template <class Handler>
using tracked_executor_t = std::decay_t<decltype(boost::asio::prefer(
    boost::asio::get_associated_executor(std::declval<Handler const&>()),
    boost::asio::execution::outstanding_work.tracked))>;

template <class Handler>
inline constexpr bool has_own_executor_v =
    !std::is_same_v<boost::asio::associated_executor_t<Handler>, boost::asio::system_executor>;

/// What a waiter does at its two moments, for a handler type (see async_wait_policy and
/// the co_await policy below):
///   resume(Handler&&, state_t<T>* s, std::exception_ptr stopped): the upcall. `s` null: the
///     future was dropped unfinished; `stopped` set: the wait was abandoned with that
///     exception.
///   emitted(Handler&, std::string_view msg): the handler's slot was emitted (on the
///     handler's chain), with that cancel message.
///   refused(Handler&, std::string_view msg): ... but the future had finished already;
///     the generic wait delivers its outcome as it is.
template <class T, class Handler>
struct async_wait_policy {
  static void resume(Handler&& h, state_t<T>* s, std::exception_ptr stopped);
  static void emitted(Handler&, std::string_view) noexcept {}
  static void refused(Handler&, std::string_view) noexcept {}
};

/// The node that waits for a future on behalf of an Asio handler. `Track`: hold
/// outstanding work on the handler's executor meanwhile, so run() does not return while
/// it waits (a coroutine needs none: co_spawn holds work for its whole life).
template <class T, class Handler, class Policy, bool Track = true>
class waiter final : public bound_node {
  static constexpr bool own_executor = has_own_executor_v<Handler>;
  static constexpr bool track = Track && own_executor;

  using alloc_t = typename std::allocator_traits<boost::asio::associated_allocator_t<
      Handler, boost::asio::recycling_allocator<void>>>::template rebind_alloc<waiter>;

 public:
  /// Starts waiting on `s`: the handler runs once it is done (never inside this call).
  /// Throws invalid_state_error if the context it would run on is gone.
  static void start(state_t<T>& s, Handler&& h) {
    alloc_t alloc(
        boost::asio::get_associated_allocator(h, boost::asio::recycling_allocator<void>()));
    waiter* w = std::allocator_traits<alloc_t>::allocate(alloc, 1);
    ::new (static_cast<void*>(w)) waiter(std::move(h), s);
    auto const listed = [&] {  // throws invalid_state_error if its context is gone
      try {
        return enlist(*w, s, boost::asio::get_associated_executor(w->h_));
      } catch (...) {
        destroy(w);  // its slot is not connected yet
        throw;
      }
    }();
    if constexpr (own_executor) s.offer_executor_of(boost::asio::get_associated_executor(w->h_));
    auto slot = boost::asio::get_associated_cancellation_slot(w->h_);
    if (slot.is_connected()) slot.template emplace<on_emit>(w);
    s.add_node(w);  // if already done, this runs on_complete, which posts
  }

 private:
  waiter(Handler&& h, state_t<T>& s) : h_(std::move(h)), work_(make_work(h_)), state_(&s) {
    complete = &on_complete;
    drop = [](bound_node* n) noexcept {
      auto* self = static_cast<waiter*>(n);
      boost::asio::get_associated_cancellation_slot(self->h_).clear();
      destroy(self);
    };
    run_posted = [](bound_node* n, state_base* sb) {
      auto* self = static_cast<waiter*>(n);
      resume_now(self, static_cast<state_t<T>*>(sb), std::move(self->stopped_));
    };
  }

  static auto make_work(Handler const& h) {
    if constexpr (track)
      return boost::asio::prefer(boost::asio::get_associated_executor(h),
                                 boost::asio::execution::outstanding_work.tracked);
    else
      return 0;
  }

  /// The cancellation handler installed in the handler's slot. Runs on the handler's
  /// chain, where its slot is emitted.
  struct on_emit {
    waiter* w;
    future<T> keep;  // the future stays alive while it can be cancelled through the slot
    explicit on_emit(waiter* self) noexcept
        : w(self), keep((self->state_->add_ref(), adopt(self->state_))) {}
    void operator()(boost::asio::cancellation_type) const {
      state_t<T>* const s = w->state_;
      auto const msg = emitting_cancel::message();
      Policy::emitted(w->h_, msg);
      if (s->cancel(msg)) return;  // its producer takes the request: wait for its outcome
      if (s->remove_node(w)) {     // it runs on, uncancellable: stop waiting for it
        w->stopped_ = std::make_exception_ptr(cancelled_error(std::string(msg)));
        w->resume_elsewhere(s);
      } else {  // it finished before the request: its outcome is on the way
        Policy::refused(w->h_, msg);
      }
    }
  };

  /// The node's one run: `sb` null means the future was dropped unfinished.
  static void on_complete(node* n, state_base* sb) noexcept {
    auto* self = static_cast<waiter*>(n);
    auto* s = static_cast<state_t<T>*>(sb);
    if (!s) {  // not listed anywhere (a listing would have kept the future alive)
      try {
        resume_now(self, nullptr, nullptr);
      } catch (...) {
        report_error(std::current_exception(), "exception in an async_wait handler");
      }
      return;
    }
    self->resume_elsewhere(s);
  }

  /// Resumes the handler where it must run: right after the completing operation's
  /// handler if that runs on the handler's executor, else posted to that executor or to the
  /// future's loop, else here.
  void resume_elsewhere(state_t<T>* s) noexcept {
    if constexpr (own_executor) {
      // Copies of the executor (a strand's must not outlive its context) live inside the
      // registry's lock; once posted, the handler may run, and its context end, at once.
      auto* const scope = stopped_ ? nullptr : op_completion_scope::of(s);
      bool here = false;
      if (leave_and([&] {
            auto const ex = boost::asio::get_associated_executor(h_);
            // Inside the handler that completed s: if it runs on our executor, so may we.
            if (!(here = scope && running_in_this_thread(ex))) post_to(ex, s);
          }) &&
          here)
        scope->defer(this);
    } else if (s->is_loop_bound()) {
      (void)leave_and([&] { s->post_node(this, *s); });
    } else {
      try {
        resume_now(this, s, std::move(stopped_));
      } catch (...) {
        report_callback_error(*s);
      }
    }
  }

  template <class Executor>
  void post_to(Executor const& ex, state_t<T>* s) noexcept {
    try {
      if constexpr (track)
        post_safely(work_, posted_node(this, s));
      else
        post_safely(ex, posted_node(this, s));
    } catch (...) {  // the executor refused: posted_node dropped the handler
      report_error(std::current_exception(), "cannot post a handler to its executor");
    }
  }

  /// Destroys the waiter, then calls the handler: the handler may start another wait.
  static void resume_now(waiter* self, state_t<T>* s, std::exception_ptr stopped) {
    boost::asio::get_associated_cancellation_slot(self->h_).clear();
    Handler h(std::move(self->h_));
    destroy(self);
    Policy::resume(std::move(h), s, std::move(stopped));
  }

  /// Frees the waiter (and its handler, if still there, uncalled).
  static void destroy(waiter* self) noexcept {
    alloc_t alloc(
        boost::asio::get_associated_allocator(self->h_, boost::asio::recycling_allocator<void>()));
    self->~waiter();
    std::allocator_traits<alloc_t>::deallocate(alloc, self, 1);
  }

  Handler h_;
  std::conditional_t<track, tracked_executor_t<Handler>, int> work_;
  state_t<T>* state_;           // the future waited on: alive while the node is on its list
  std::exception_ptr stopped_;  // set when the wait is abandoned
};

/// What async_wait delivers: `void(std::exception_ptr, T)`; for a future<U&>, a U*
/// (null with an error: a reference cannot be null).
template <class T>
struct wait_signature {
  using type = void(std::exception_ptr, T);
};
template <class U>
struct wait_signature<U&> {
  using type = void(std::exception_ptr, U*);
};
template <>
struct wait_signature<void> {
  using type = void(std::exception_ptr);
};
template <>
struct wait_signature<any_result> {
  using type = void(std::exception_ptr);
};

template <class T, class Handler>
void async_wait_policy<T, Handler>::resume(Handler&& h, state_t<T>* s, std::exception_ptr stopped) {
  std::exception_ptr e = std::move(stopped);
  if (!e) e = s ? s->outcome_exception() : std::make_exception_ptr(broken_promise());
  if constexpr (std::is_void_v<T> || std::is_same_v<T, any_result>) {
    std::move(h)(std::move(e));
  } else if constexpr (std::is_reference_v<T>) {
    auto* const p = e ? nullptr : std::addressof(s->get());  // before e is moved from
    std::move(h)(std::move(e), p);
  } else if (!e) {
    std::move(h)(std::exception_ptr(), value_for_waiter(*s));
  } else {
    static_assert(std::is_default_constructible_v<T>,
                  "async_wait delivers (exception_ptr, T) and needs a default T for the "
                  "error case; co_await the future instead");
    std::move(h)(std::move(e), T{});
  }
}

template <class T>
struct initiate_wait {
  template <class Handler>
  void operator()(Handler&& h, future<T> const& f) const {
    using handler_t = std::decay_t<Handler>;
    waiter<T, handler_t, async_wait_policy<T, handler_t>>::start(
        *state_of(f), handler_t(std::forward<Handler>(h)));
  }
};

}  // namespace futura::detail

namespace futura {

template <class T>
template <class Token>
auto basic_future<T>::async_wait(Token&& token) const {
  checked();
  return boost::asio::async_initiate<Token, typename detail::wait_signature<T>::type>(
      detail::initiate_wait<T>{}, token, static_cast<future<T> const&>(*this));
}

}  // namespace futura

namespace boost::asio::detail {

/// `co_await fut` inside awaitable<>. Asio 1.26 builds this awaiter for any async operation
/// but binds it to an rvalue and cannot resume a void(exception_ptr, T) signature; this
/// one holds a handle (one reference count), skips suspension when the future is done,
/// and reads the outcome straight from the shared state, so the value is never copied on
/// the way. Cancellation is asyncio's: a cancellation that reaches the coroutine while it
/// waits cancels the future and gives the coroutine what the future ends with (a
/// task that suppresses it and returns wins); a future that cannot be cancelled is left
/// running and the coroutine gets cancelled_error at once; one that finished just before,
/// or an operation that completed with its value as the request reached it, still gives
/// cancelled_error (asyncio's _must_cancel: only a task chooses to suppress). Either way the
/// cancellation is consumed: the coroutine's cancellation state is cleared, so a
/// coroutine that catches cancelled_error goes on as in asyncio, instead of having its next
/// co_await rejected after that await's operation has started.
template <class Signature, class T, class Executor>
class awaitable_async_op<Signature, futura::future<T>, Executor> {
  using resume_handler = awaitable_async_op_handler<void(), Executor>;

  /// The coroutine's handler, with a way back to this awaiter.
  struct handler {
    using executor_type = Executor;
    using cancellation_slot_type = cancellation_slot;
    resume_handler h;
    awaitable_async_op* op;
    executor_type get_executor() const noexcept { return h.get_executor(); }
    cancellation_slot_type get_cancellation_slot() const noexcept {
      return h.get_cancellation_slot();
    }
  };

  struct policy {
    static void resume(handler&& h, futura::detail::state_t<T>*, std::exception_ptr stopped) {
      auto* op = h.op;
      if (stopped) op->stopped_ = std::move(stopped);
      if (op->emitted_) h.h.get_cancellation_state().clear();  // consumed, as in asyncio
      std::move(h.h)();
    }
    static void emitted(handler& h, std::string_view msg) {
      h.op->emitted_ = true;
      h.op->message_ = msg;
    }
    static void refused(handler& h, std::string_view msg) {
      h.op->stopped_ = std::make_exception_ptr(futura::cancelled_error(std::string(msg)));
    }
  };
  friend struct policy;

 public:
  awaitable_async_op(futura::future<T> const& f, awaitable_frame_base<Executor>* frame)
      : f_(f), frame_(frame) {}
  awaitable_async_op(futura::future<T>&& f, awaitable_frame_base<Executor>* frame)
      : f_(std::move(f)), frame_(frame) {}

  bool await_ready() const noexcept {
    auto* s = futura::detail::state_of(f_);
    return !s || s->done();  // an empty handle throws in await_resume
  }

  void await_suspend(coroutine_handle<void>) {
    frame_->after_suspend(
        [](void* arg) {
          auto* self = static_cast<awaitable_async_op*>(arg);
          typename resume_handler::result_type unused;
          futura::detail::waiter<T, handler, policy, false>::start(
              *futura::detail::state_of(self->f_),
              handler{resume_handler(self->frame_->detach_thread(), unused), self});
        },
        this);
  }

  /// The value (a copy; for a move-only T, moved out), or rethrows.
  futura::detail::awaited_t<T> await_resume() {
    auto* s = futura::detail::state_of(f_);
    if (!s) throw futura::invalid_state_error("co_await on a future that has no state");
    if (stopped_) std::rethrow_exception(stopped_);
    if (emitted_ && !(s->traits() & futura::detail::state_base::suppressible) &&
        s->status() != futura::detail::cancelled)
      throw futura::cancelled_error(message_);  // not a task: it did not choose to finish
    return futura::detail::value_for_waiter(*s);
  }

 private:
  futura::future<T> f_;
  awaitable_frame_base<Executor>* frame_;
  std::exception_ptr stopped_;  // the coroutine was cancelled: what it gets instead
  std::string message_;         // ... with this message
  bool emitted_ = false;        // its cancellation reached this wait
};

}  // namespace boost::asio::detail

#endif
