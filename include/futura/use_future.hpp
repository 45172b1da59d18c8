// futura/use_future.hpp: a completion token that makes any Asio operation return a
// futura::future.
#ifndef FUTURA_USE_FUTURE_HPP
#define FUTURA_USE_FUTURE_HPP

#include <futura/detail/loop_state.hpp>
#include <futura/detail/task.hpp>
#include <futura/future.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace futura {

namespace detail {
template <class F>
struct packaged_token {
  F fn;
};
}  // namespace detail

/// The completion token type of futura::use_future.
struct use_future_t {
  /// The packaged form: `asio::post(ex, futura::use_future(fn))` returns the future of
  /// `fn(args...)`, where args are the operation's completion values. What `fn` throws
  /// lands in the future, never in run(). Cancelling the future before the operation
  /// completes means `fn` never runs.
  template <class F>
  auto operator()(F&& fn) const {
    return detail::packaged_token<std::decay_t<F>>{std::forward<F>(fn)};
  }
};

/// Makes an Asio operation return a `futura::future`:
///
/// \code
/// futura::future<void> t = timer.async_wait(futura::use_future);
/// futura::future<std::size_t> n = socket.async_read_some(buf, futura::use_future);
/// n.cancel();   // emits the operation's cancellation slot: the read really stops
/// \endcode
///
/// `void()` and `void(error_code)` give future<void>, `void(error_code, T)` and
/// `void(exception_ptr, T)` give future<T>, several values a future<std::tuple<...>>. An
/// error code becomes boost::system::system_error; operation_aborted makes the future
/// cancelled. A handler destroyed uncalled (its io_context destroyed) gives
/// broken_promise. Futures of operations on an io_context are loop-bound.
/// `boost::asio::bind_allocator(alloc, futura::use_future)` allocates the operation's state
/// (and what the operation allocates) with `alloc`.
inline constexpr use_future_t use_future{};

namespace detail {

template <class... Values>
struct values_type {
  using type = std::tuple<Values...>;
};
template <>
struct values_type<> {
  using type = void;
};
template <class V>
struct values_type<V> {
  using type = V;
};

/// The future's T for a completion signature: the values after a leading error.
template <class... Args>
struct op_value : values_type<Args...> {};
template <class... Args>
struct op_value<boost::system::error_code, Args...> : values_type<Args...> {};
template <class... Args>
struct op_value<std::exception_ptr, Args...> : values_type<Args...> {};

template <class Signature>
struct op_signature;
template <class R, class... Args>
struct op_signature<R(Args...)> {
  using value = typename op_value<std::decay_t<Args>...>::type;
};

bool is_operation_aborted(std::exception_ptr const& e) noexcept;  // src/future.cpp

/// The handler use_future passes to an operation: owns the producer's reference and
/// exposes the state's cancellation slot.
template <class T, class State>
class op_handler {
 public:
  using cancellation_slot_type = boost::asio::cancellation_slot;

  explicit op_handler(State* s) noexcept : out_(s) {}

  future<T> get_future() const noexcept { return out_.get_future(); }

  cancellation_slot_type get_cancellation_slot() const noexcept {
    if constexpr (requires(State & st) { st.slot(); })
      return static_cast<State*>(out_.get())->slot();
    else
      return {};
  }

  /// Completes the future; then the waiters that run on the executor running this handler
  /// resume, here (see op_completion_scope); a handler of theirs that throws leaves
  /// through here, out of run(), as it would with use_awaitable.
  template <class First, class... Rest>
  void operator()(First&& first, Rest&&... rest) {
    op_completion_scope scope(*out_.get());
    using first_t = std::decay_t<First>;
    if constexpr (std::is_same_v<first_t, boost::system::error_code>) {
      if (first == boost::asio::error::operation_aborted)
        out_->try_set_cancelled();
      else if (first)  // after cancel(), the operation's own way of saying it stopped
        out_->try_fail_or_cancel(std::make_exception_ptr(boost::system::system_error(first)));
      else
        set(std::forward<Rest>(rest)...);
    } else if constexpr (std::is_same_v<first_t, std::exception_ptr>) {
      if (!first)
        set(std::forward<Rest>(rest)...);
      else if (is_operation_aborted(first))
        out_->try_set_cancelled(first);
      else
        out_->try_set_exception(first);
    } else {
      set(std::forward<First>(first), std::forward<Rest>(rest)...);
    }
    scope.resume_deferred();
  }
  void operator()() {
    op_completion_scope scope(*out_.get());
    set();
    scope.resume_deferred();
  }

 private:
  template <class... V>
  void set(V&&... v) {
    if constexpr (std::is_void_v<T>)
      out_->try_set_value();
    else if constexpr (sizeof...(V) == 1)
      out_->try_set_value(std::forward<V>(v)...);
    else
      out_->try_set_value(T(std::forward<V>(v)...));
  }

  producer_ref<T> out_;
};

/// The executor an operation runs on, when its initiation says (Asio's I/O objects, post,
/// co_spawn do).
template <class Initiation>
concept has_executor = requires(Initiation const& i) {
  i.get_executor();
};

/// The initiation that knows the executor. Asio's adapters (as_tuple, redirect_error,
/// append, prepend) wrap the operation's initiation in an init_wrapper that hides its
/// get_executor() but keeps it as the public member `initiation_`: look through them, or
/// an adapted operation's future could neither be cancelled nor be loop-bound.
template <class Initiation>
auto const& executor_source(Initiation const& init) noexcept {
  if constexpr (!has_executor<Initiation> && requires { init.initiation_; })
    return executor_source(init.initiation_);
  else
    return init;
}

/// An I/O object among an initiation's arguments (Beast passes its stream as a pointer),
/// or nullptr.
inline std::nullptr_t first_io_object() noexcept {
  return nullptr;
}
template <class First, class... Rest>
auto first_io_object(First const& first, Rest const&... rest) noexcept {
  if constexpr (std::is_pointer_v<First> && requires { first->get_executor(); })
    return first;
  else if constexpr (requires { first.get_executor(); })
    return &first;
  else
    return first_io_object(rest...);
}

/// The executor an operation runs on: its initiation's, else its I/O object's. Composed
/// operations that name neither (Beast's, parallel_group, deferred chains) still honour a
/// cancellation slot, and their I/O object is where it is emitted safely.
template <class Initiation, class... InitArgs>
decltype(auto) operation_executor_source(Initiation const& init, InitArgs const&... args) {
  auto const& source = executor_source(init);
  if constexpr (has_executor<std::decay_t<decltype(source)>>)
    return source;
  else
    return first_io_object(args...);
}

/// The state of an operation about to start: running from the start, interruptible when
/// the operation's executor is known, created with the references of both ends.
/// `alloc`: the token's allocator, or null (void) for Asio's per-thread cache.
template <class T, class Alloc, class Initiation, class... InitArgs>
auto make_op_state(Alloc const* alloc, Initiation const& init, InitArgs const&... args) {
  auto&& source = operation_executor_source(init, args...);
  using source_t = std::remove_cvref_t<decltype(source)>;
  if constexpr (has_executor<source_t>) {
    using state_t = op_state<T, std::decay_t<decltype(source.get_executor())>>;
    return state_t::create(source.get_executor(), /*started=*/true, alloc);
  } else if constexpr (std::is_pointer_v<source_t>) {
    using state_t = op_state<T, std::decay_t<decltype(source->get_executor())>>;
    return state_t::create(source->get_executor(), /*started=*/true, alloc);
  } else {
    return op_state<T, boost::asio::any_io_executor>::create_late(alloc);
  }
}

/// use_future's initiation, with the token's allocator (or none: Alloc void).
template <class T, class Alloc, class Initiation, class... InitArgs>
future<T> initiate_op(Alloc const* alloc, Initiation&& init, InitArgs&&... args) {
  auto* s = make_op_state<T>(alloc, init, args...);
  using state_t = std::remove_pointer_t<decltype(s)>;
  auto f = adopt<T>(s);  // the future's reference
  if constexpr (std::is_void_v<Alloc>)
    std::forward<Initiation>(init)(op_handler<T, state_t>(s), std::forward<InitArgs>(args)...);
  else  // the operation allocates what it needs with it too
    std::forward<Initiation>(init)(boost::asio::bind_allocator(*alloc, op_handler<T, state_t>(s)),
                                   std::forward<InitArgs>(args)...);
  return f;
}

/// The state of use_future(fn): pending until the operation completes (cancelling it
/// before means fn never runs), loop-bound when the operation runs on an io_context.
template <class T, class Initiation, class... InitArgs>
state<T>* make_packaged_state(Initiation const& init, InitArgs const&... args) {
  auto&& source = operation_executor_source(init, args...);
  using source_t = std::remove_cvref_t<decltype(source)>;
  if constexpr (has_executor<source_t>)
    return loop_state<T, std::decay_t<decltype(source.get_executor())>>::create(
        source.get_executor());
  else if constexpr (std::is_pointer_v<source_t>)
    return loop_state<T, std::decay_t<decltype(source->get_executor())>>::create(
        source->get_executor());
  else
    return state<T>::create();
}

/// The handler of use_future(fn): runs fn with the completion values into the future.
template <class F, class T>
class packaged_handler {
 public:
  packaged_handler(F fn, producer_ref<T> out) : fn_(std::move(fn)), out_(std::move(out)) {}

  template <class... Args>
  void operator()(Args&&... args) {
    std::optional<std::tuple<F, std::decay_t<Args>...>> call(std::in_place, std::move(*fn_),
                                                             std::forward<Args>(args)...);
    fn_.reset();
    if (out_->try_start()) invoke_into(*out_.get(), call);
  }

 private:
  std::optional<F> fn_;
  producer_ref<T> out_;
};

}  // namespace detail
}  // namespace futura

namespace boost::asio {

template <class R, class... Args>
class async_result<futura::use_future_t, R(Args...)> {
  using value_type = typename futura::detail::op_signature<R(Args...)>::value;

 public:
  using return_type = futura::future<value_type>;

  template <class Initiation, class... InitArgs>
  static return_type initiate(Initiation&& init, futura::use_future_t, InitArgs&&... args) {
    return futura::detail::initiate_op<value_type>(static_cast<void const*>(nullptr),
                                                   std::forward<Initiation>(init),
                                                   std::forward<InitArgs>(args)...);
  }
};

/// `bind_allocator(alloc, futura::use_future)`: the operation's state, and what the
/// operation itself allocates, come from `alloc` (Asio's rule for a token's allocator).
template <class Alloc, class R, class... Args>
class async_result<allocator_binder<futura::use_future_t, Alloc>, R(Args...)> {
  using value_type = typename futura::detail::op_signature<R(Args...)>::value;

 public:
  using return_type = futura::future<value_type>;

  template <class Initiation, class... InitArgs>
  static return_type initiate(Initiation&& init,
                              allocator_binder<futura::use_future_t, Alloc> const& token,
                              InitArgs&&... args) {
    Alloc const alloc = token.get_allocator();
    return futura::detail::initiate_op<value_type>(&alloc, std::forward<Initiation>(init),
                                                   std::forward<InitArgs>(args)...);
  }
};

template <class F, class R, class... Args>
class async_result<futura::detail::packaged_token<F>, R(Args...)> {
  using value_type = std::invoke_result_t<F, std::decay_t<Args>...>;

 public:
  using return_type = futura::future<value_type>;

  template <class Initiation, class... InitArgs>
  static return_type initiate(Initiation&& init, futura::detail::packaged_token<F> token,
                              InitArgs&&... args) {
    futura::detail::producer_ref<value_type> out(
        futura::detail::make_packaged_state<value_type>(init, args...));
    auto f = out.get_future();
    std::forward<Initiation>(init)(
        futura::detail::packaged_handler<F, value_type>(std::move(token.fn), std::move(out)),
        std::forward<InitArgs>(args)...);
    return f;
  }
};

}  // namespace boost::asio

#endif
