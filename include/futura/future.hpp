// futura/future.hpp: futura::future<T>, Python's Future for threads and event loops alike.
#ifndef FUTURA_FUTURE_HPP
#define FUTURA_FUTURE_HPP

#include <futura/detail/context_registry.hpp>
#include <futura/detail/io_executor.hpp>
#include <futura/detail/shared_state.hpp>
#include <futura/errors.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <ostream>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace futura {

/// The result type of a type-erased `future<>`: a future of any result type, for waiting on
/// futures of different types together (Python's futures are all one type).
struct any_result {};

template <class T>
class promise;
template <class T = any_result>
class future;

namespace detail {
/// The shared state a future<T> points to: state<T>, or for the type-erased future<> the
/// part every state has.
template <class T>
struct state_for {
  using type = state<T>;
};
template <>
struct state_for<any_result> {
  using type = state_base;
};
template <class T>
using state_t = typename state_for<T>::type;

template <class T>
future<T> adopt(state<T>* s) noexcept;
inline future<any_result> adopt(state_base* s) noexcept;
template <class T>
state<T>* state_of(future<T> const& f) noexcept;
inline state_base* state_of(future<any_result> const& f) noexcept;
/// future<>::as<T>() on a future of another type.
[[noreturn]] void throw_wrong_type(state_base const& s, std::type_info const& wanted);

template <class Clock, class Duration>
std::chrono::steady_clock::time_point to_steady(std::chrono::time_point<Clock, Duration> t) {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>)
    return std::chrono::time_point_cast<std::chrono::steady_clock::duration>(t);
  else
    return std::chrono::steady_clock::now() +
           std::chrono::ceil<std::chrono::steady_clock::duration>(t - Clock::now());
}
template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> d) {
  auto const now = std::chrono::steady_clock::now();
  if (d <= d.zero()) return now;  // a negative timeout acts like 0, as in Python
  // Compare in floating point: converting a huge `d` (seconds::max()) to nanoseconds
  // would overflow.
  auto const left = std::chrono::steady_clock::time_point::max() - now;
  if (std::chrono::duration<long double>(d) >= std::chrono::duration<long double>(left))
    return std::chrono::steady_clock::time_point::max();
  return now + std::chrono::ceil<std::chrono::steady_clock::duration>(d);
}
}  // namespace detail

/// What every future handle is, typed (future<T>) or not (future<>, T = any_result): one
/// counted pointer to the shared state, and everything a consumer can do without reading
/// the value.
template <class T>
class basic_future {
  using S = detail::state_t<T>;

 public:
  /// An empty handle; only valid(), assignment and destruction are allowed on it.
  basic_future() noexcept = default;
  /// Another handle to the same shared state (a reference count: the value is not copied).
  basic_future(basic_future const& o) noexcept : s_(o.s_) {
    if (s_) s_->add_ref();
  }
  /// Takes over `o`'s handle; `o` is left empty (not valid()).
  basic_future(basic_future&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  /// Makes this a handle to `o`'s state, letting go of the one it had.
  basic_future& operator=(basic_future o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  /// Lets go of this handle. The shared state lives on while another handle or its
  /// producer holds it; dropping every handle does not cancel the work.
  ~basic_future() {
    if (s_) s_->release();
  }

  /// False for an empty handle (default-constructed or moved from): the members that read
  /// or change the state then throw invalid_state_error.
  bool valid() const noexcept { return s_ != nullptr; }

  /// Where the future is now: pending, running, cancelled or finished (the state Python's
  /// repr shows). Never blocks.
  future_state state() const { return checked().public_state(); }
  /// As Python's Future.done(): finished (a value or an exception) or cancelled. Never
  /// blocks.
  bool done() const { return checked().done(); }
  /// As Python's Future.cancelled().
  bool cancelled() const { return checked().status() == detail::cancelled; }
  /// As Python's Future.running(): its producer has started and not finished it (a running
  /// future cannot be cancelled unless its producer can be interrupted, see cancel()).
  bool running() const { return checked().status() == detail::running; }

  /// Blocks until done; the stored exception, or nullptr after a value. Throws
  /// cancelled_error if cancelled, and invalid_state_error as result() does.
  std::exception_ptr exception() const {
    guard_loop("Exception is not set.");
    s_->wait();
    return s_->exception_or_null();
  }
  /// As exception(), but throws timeout_error if not done within `timeout`.
  template <class Rep, class Period>
  std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
    guard_loop("Exception is not set.");
    wait_until(detail::deadline_after(timeout));
    return s_->exception_or_null();
  }

  /// Blocks until done, without reading the outcome. On the thread running the loop of a
  /// pending loop-bound future, throws invalid_state_error, as result() does.
  void wait() const {
    guard_loop("wait() on the thread running the future's loop would never return");
    s_->wait();
  }
  /// As wait(), for at most `timeout`: true if the future is done, false on timeout
  /// (nothing is thrown or cancelled).
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    guard_loop("wait_for() on the thread running the future's loop would never return");
    return s_->wait_until(detail::deadline_after(timeout));
  }

  /// Pending: cancels (true). Cancelled already: true. Finished: false. Running: true only
  /// if the producer can be interrupted. `msg` becomes the cancelled_error's what().
  bool cancel(std::string_view msg = {}) const { return checked().cancel(msg); }

  /// Runs `f(future<T> const&)` (or `f()`) once the future is done, in registration order.
  /// Where: on `f`'s associated executor if it has one (boost::asio::bind_executor); else
  /// posted to the loop of a loop-bound future (asyncio: never inside set_result); else
  /// inline in the completing thread, or at once in this thread if already done
  /// (concurrent.futures). A throwing callback is reported through
  /// set_callback_error_handler; the others still run.
  template <class F>
  callback_id add_done_callback(F&& f) const;

  /// Waits for the future as an Asio asynchronous operation with the signature
  /// `void(std::exception_ptr, T)` (`void(std::exception_ptr)` for future<void> and
  /// future<>; a `U*` for future<U&>): works
  /// with use_awaitable, deferred, plain callbacks, parallel_group and futura::use_future.
  /// The handler runs on its associated executor, else on the future's loop, else in the
  /// completing thread; never inside this call unless it has none of those. Emitting the
  /// handler's cancellation slot cancels the future (asyncio semantics; see shield()).
  /// A future dropped unfinished by everyone delivers broken_promise.
  template <class Token>
  auto async_wait(Token&& token) const;
  /// The future as an Asio async operation: `fut(token)` is `fut.async_wait(token)`, so a
  /// future can be passed where Asio takes deferred operations, and `co_await fut` works
  /// inside boost::asio::awaitable<> (without suspending if it is already done).
  // clang-format off
  template <class Token>
    requires(!std::is_pointer_v<std::decay_t<Token>>)  // not Asio's awaitable_frame hook
  auto operator()(Token&& token) const {
    return async_wait(std::forward<Token>(token));
  }
  // clang-format on

  /// Removes a callback that has not run yet; returns how many were removed (0 or 1).
  std::size_t remove_done_callback(callback_id id) const { return checked().remove_callback(id); }

  /// A hash of the shared state's identity: equal for equal futures, so a future can key an
  /// unordered container (std::hash<future<T>> uses it).
  std::size_t hash() const noexcept { return std::hash<void const*>{}(address()); }
  /// Python's repr: `<Future at 0x... state=finished returned int>`; `<Future empty>` for an
  /// empty handle.
  friend std::ostream& operator<<(std::ostream& os, basic_future const& f) {
    if (!f.s_) return os << "<Future empty>";
    f.s_->write_repr(os);
    return os;
  }

 protected:
  /// \cond INTERNAL
  explicit basic_future(S* s) noexcept : s_(s) {}
  detail::state_base const* address() const noexcept { return s_; }
  S& checked() const {
    if (!s_) throw invalid_state_error("future has no state");
    return *s_;
  }
  void guard_loop(char const* what) const { checked().guard_blocking_wait(what); }
  void wait_until(std::chrono::steady_clock::time_point deadline) const {
    if (!checked().wait_until(deadline)) throw timeout_error();
  }

  S* s_ = nullptr;
  /// \endcond

 private:
  template <class>
  friend class futura::future;
};

/// A copyable handle to one shared state: every copy is the same future. Thread-safe: any
/// thread may wait on, complete, cancel or add callbacks to it.
///
/// \code
/// futura::promise<int> p;
/// futura::future<int> f = p.get_future();
/// f.add_done_callback([](futura::future<int> const& d) { std::cout << d.result(); });
/// p.set_result(42);
/// \endcode
template <class T>
class future : public basic_future<T> {
  static_assert(!std::is_array_v<T> &&
                    (std::is_void_v<T> || std::is_reference_v<T> || std::is_destructible_v<T>),
                "future<T> needs a destructible T, a reference or void");
  using base = basic_future<T>;

 public:
  /// The T of future<T>: the type of the value, a reference type, or void.
  using value_type = T;
  /// What result() gives: T& (the value stays in the shared state), or void.
  using result_reference = detail::result_ref_t<T>;

  /// An empty handle; only valid(), assignment and destruction are allowed on it.
  future() noexcept = default;

  /// Blocks until done; returns the value, rethrows the stored exception, or throws
  /// cancelled_error. On the thread running the loop a pending loop-bound future must
  /// complete on, throws invalid_state_error("Result is not set.") instead of deadlocking.
  result_reference result() const {
    this->guard_loop("Result is not set.");
    return detail::wait_get(*this->s_);
  }
  /// As result(), but throws timeout_error if not done within `timeout` (<= 0: not at all).
  template <class Rep, class Period>
  result_reference result(std::chrono::duration<Rep, Period> timeout) const {
    this->guard_loop("Result is not set.");
    this->wait_until(detail::deadline_after(timeout));
    return this->s_->get();
  }

  /// Pending → running (true); cancelled → false; otherwise invalid_state_error.
  bool set_running_or_notify_cancel() const {
    return this->checked().set_running_or_notify_cancel();
  }

  /// Completes the future. Throws invalid_state_error if it is already done.
  template <class... A>
  void set_result(A&&... a) const {
    this->checked().set_value(std::forward<A>(a)...);
  }
  /// Completes the future with the exception `e` (Python's Future.set_exception()), which
  /// result() rethrows. Throws invalid_state_error if it is already done.
  void set_exception(std::exception_ptr e) const { this->checked().set_exception(std::move(e)); }
  /// As set_exception(std::make_exception_ptr(e)): `f.set_exception(std::runtime_error("x"))`.
  // clang-format off
  template <class E>
    requires(!std::is_same_v<std::decay_t<E>, std::exception_ptr>)
  void set_exception(E&& e) const {
    // clang-format on
    set_exception(std::make_exception_ptr(std::forward<E>(e)));
  }

  /// A continuation (folly's thenValue, Boost.Thread's then): a future of `fn(value)`
  /// (`fn()` for a future<void>), which runs once this future has a value, as a done
  /// callback would: on fn's associated executor if it has one, else posted to the loop of
  /// a loop-bound future, else in the completing thread. An exception from `fn` fails the
  /// new future; a failure or cancellation of this one passes on without calling `fn`.
  /// The new future follows this one's loop. Called on an rvalue (`std::move(f).then(fn)`,
  /// `pool.submit(job).then(fn)`), the new future takes this one over: cancelling it
  /// cancels this one too, as asyncio cancels what a cancelled task awaits; on an lvalue,
  /// you keep this future, and cancelling the new one only stops `fn` from running.
  ///
  /// \code
  /// futura::future<std::size_t> n = pool.submit(fetch, url).then([](std::string const& body) {
  ///   return body.size();
  /// });
  /// \endcode
  template <class F>
  auto then(F&& fn) const&;
  /// then() on an rvalue: the new future owns this one (see above).
  template <class F>
  auto then(F&& fn) &&;

  /// True if `a` and `b` are handles to the same shared state (or both empty).
  friend bool operator==(future const& a, future const& b) noexcept { return a.s_ == b.s_; }

 private:
  friend future detail::adopt<T>(detail::state<T>*) noexcept;
  friend detail::state<T>* detail::state_of<T>(future const&) noexcept;
  explicit future(detail::state<T>* s) noexcept : base(s) {}
};

/// A future of any result type (`futura::future<>`, also spelled `any_future`): one
/// pointer, converted from any `future<T>` without allocating, sharing its state. It waits,
/// cancels and reports like the future it came from, so that futures of different types
/// can go into one `wait`, `as_completed` or `async_wait_some`, as in Python. Its result()
/// and `co_await` give no value (they rethrow a failure); as<T>() gives the typed future
/// back, checked.
///
/// \code
/// std::vector<futura::future<>> fs{pool.submit(count), pool.submit(name)};
/// for (futura::future<> const& f : futura::as_completed(fs))
///   if (f == count_future) std::cout << count_future.result();
/// \endcode
template <>
class future<any_result> : public basic_future<any_result> {
  using base = basic_future<any_result>;

 public:
  /// The tag any_result: the value's type is not known here.
  using value_type = any_result;
  /// result() reads no value: it only waits and rethrows.
  using result_reference = void;

  /// An empty handle; only valid(), assignment and destruction are allowed on it.
  future() noexcept = default;
  /// The same future as `f`, its type forgotten.
  template <class T>
  future(future<T> const& f) noexcept : base(f.s_) {
    if (s_) s_->add_ref();
  }
  /// The same future as `f`, which is left empty.
  template <class T>
  future(future<T>&& f) noexcept : base(std::exchange(f.s_, nullptr)) {}

  /// Blocks until done; rethrows the stored exception, or throws cancelled_error (and
  /// invalid_state_error on the loop thread, as future<T>::result() does).
  void result() const {
    guard_loop("Result is not set.");
    s_->wait();
    if (s_->status() != detail::value) s_->rethrow_error();
  }
  /// As result(), but throws timeout_error if not done within `timeout`.
  template <class Rep, class Period>
  void result(std::chrono::duration<Rep, Period> timeout) const {
    guard_loop("Result is not set.");
    wait_until(detail::deadline_after(timeout));
    if (s_->status() != detail::value) s_->rethrow_error();
  }

  /// Whether the future's result type is `T`.
  template <class T>
  bool holds() const {
    return checked().value_type() == typeid(T);
  }
  /// The typed future back; invalid_state_error (naming both types) if it is not a
  /// future<T>.
  template <class T>
  future<T> as() const {
    if (!holds<T>()) detail::throw_wrong_type(*s_, typeid(T));
    s_->add_ref();
    return detail::adopt(static_cast<detail::state<T>*>(s_));
  }

  /// Same future (same shared state), whatever the other handle's type.
  friend bool operator==(future const& a, future const& b) noexcept { return a.s_ == b.s_; }
  /// True if `b` is the future this handle erases (or both are empty).
  template <class T>
  friend bool operator==(future const& a, future<T> const& b) noexcept {
    return a.s_ == detail::state_of(b);
  }

 private:
  friend future detail::adopt(detail::state_base*) noexcept;
  friend detail::state_base* detail::state_of(future const&) noexcept;
  explicit future(detail::state_base* s) noexcept : base(s) {}
};

/// The type-erased future, `future<>`.
using any_future = future<>;

/// A new pending future that no producer owns: complete it with set_result/set_exception
/// (Python's `Future()`). For one bound to an event loop, see create_future(executor).
template <class T>
future<T> create_future() {
  return detail::adopt(detail::state<T>::create());
}

namespace detail {

template <class T>
future<T> adopt(state<T>* s) noexcept {
  return future<T>(s);
}
template <class T>
state<T>* state_of(future<T> const& f) noexcept {
  return f.s_;
}
inline future<any_result> adopt(state_base* s) noexcept {
  return future<any_result>(s);
}
inline state_base* state_of(future<any_result> const& f) noexcept {
  return f.s_;
}

/// Invokes a done callback with the future, or with nothing if it takes nothing.
template <class T, class F>
void invoke_callback(F& f, state_t<T>& s) {
  if constexpr (std::is_invocable_v<F&, future<T> const&>) {
    s.add_ref();
    future<T> const handle = adopt(&s);
    std::invoke(f, handle);
  } else {
    std::invoke(f);
  }
}

void report_callback_error(state_base& s) noexcept;  // with std::current_exception()

template <class F>
inline constexpr bool has_executor_v =
    !std::is_same_v<boost::asio::associated_executor_t<F>, boost::asio::system_executor>;

/// A done callback that runs where add_done_callback says. Inline callbacks run in the
/// completing thread. The others are bound nodes: listed in the registry of the context
/// they run on (the callback's own executor's, or the future's loop's) until the future
/// completes, then posted there through that registry; dropped, uncalled, if that
/// context shuts down first.
template <class T, class F>
struct callback_node final : bound_node {
  template <class G>
  explicit callback_node(G&& fn) : f(std::forward<G>(fn)) {
    complete = &on_complete;
    drop = [](bound_node* n) noexcept { delete static_cast<callback_node*>(n); };
    run_posted = [](bound_node* n, state_base* s) { invoke(static_cast<callback_node*>(n), s); };
  }

  static void on_complete(node* n, state_base* s) noexcept {
    auto* self = static_cast<callback_node*>(n);
    if (!s) {  // removed before it ran (or its future died pending)
      if (self->leave_and([] {})) delete self;
      return;
    }
    if constexpr (has_executor_v<F>) {
      self->leave_and([&] { post_to(boost::asio::get_associated_executor(self->f), self, s); });
    } else if (s->is_loop_bound()) {
      self->leave_and([&] { s->post_node(self, *s); });
    } else {
      invoke(self, s);
    }
  }

  template <class Executor>
  static void post_to(Executor const& ex, callback_node* self, state_base* s) noexcept {
    try {
      post_safely(ex, posted_node(self, s));
    } catch (...) {  // the executor refused the work; posted_node dropped the callback
      report_callback_error(*s);
    }
  }

  static void invoke(callback_node* self, state_base* s) noexcept {
    try {
      invoke_callback<T>(self->f, static_cast<state_t<T>&>(*s));
    } catch (...) {
      report_callback_error(*s);
    }
    delete self;
  }

  F f;
};

/// add_done_callback of a future<T> (or future<>) on its state `s`.
template <class T, class F>
callback_id add_done_callback(state_t<T>& s, F&& f) {
  using fn_t = std::decay_t<F>;
  static_assert(std::is_invocable_v<fn_t&, future<T> const&> || std::is_invocable_v<fn_t&>,
                "a done callback takes the future (by const&) or nothing");
  if (!s.done() || s.is_loop_bound() || has_executor_v<fn_t>) {
    auto n = std::make_unique<callback_node<T, fn_t>>(std::forward<F>(f));
    // Throws invalid_state_error if the context it would run on is gone.
    auto const listed = enlist(*n, s, boost::asio::get_associated_executor(n->f));
    auto const id = n->id = s.next_callback_id();
    s.add_node(n.release());  // runs it at once if the future completed meanwhile
    return id;
  }
  fn_t fn(std::forward<F>(f));
  try {
    invoke_callback<T>(fn, s);
  } catch (...) {
    report_callback_error(s);
  }
  return s.next_callback_id();
}

}  // namespace detail

template <class T>
template <class F>
callback_id basic_future<T>::add_done_callback(F&& f) const {
  return detail::add_done_callback<T>(checked(), std::forward<F>(f));
}

}  // namespace futura

/// Hashes a future by its shared state's identity (future::hash()), so that
/// `std::unordered_set<futura::future<T>>` works.
template <class T>
struct std::hash<futura::future<T>> {
  /// `f.hash()`.
  std::size_t operator()(futura::future<T> const& f) const noexcept { return f.hash(); }
};

#include <futura/detail/async_wait.hpp>
#include <futura/detail/then.hpp>

#endif
