// futura/loop.hpp: the asyncio half on any Asio executor: loop-bound futures, tasks,
// asyncio.run, sleep, wait_for, timeout, shield, run_in_executor.
#ifndef FUTURA_LOOP_HPP
#define FUTURA_LOOP_HPP

#include <futura/detail/loop_state.hpp>
#include <futura/future.hpp>
#include <futura/submit.hpp>
#include <futura/thread_pool_executor.hpp>
#include <futura/use_future.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <concepts>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

namespace futura {

namespace detail {
template <class E>
concept asio_executor =
    boost::asio::execution::is_executor<E>::value || boost::asio::is_executor<E>::value;
template <class C>
concept asio_context = std::is_base_of_v<boost::asio::execution_context, C> && requires(C& c) {
  c.get_executor();
};
}  // namespace detail

/// A pending future bound to a loop (asyncio's `loop.create_future()`): its done callbacks
/// are posted to `ex`, never run inside set_result, and a blocking result() from a thread
/// running that io_context throws invalid_state_error instead of deadlocking.
///
/// \code
/// auto fut = futura::create_future<std::string>(co_await boost::asio::this_coro::executor);
/// fut.add_done_callback([](auto const& f) { std::cout << f.result() << '\n'; });
/// fut.set_result("hello");   // the callback runs on the next turn of the loop
/// \endcode
template <class T, detail::asio_executor Executor>
future<T> create_future(Executor const& ex) {
  return detail::adopt<T>(detail::loop_state<T, Executor>::create(ex));
}
/// As create_future<T>(ctx.get_executor()): bound to an io_context (or any execution
/// context with an executor).
template <class T, detail::asio_context Context>
future<T> create_future(Context& ctx) {
  return create_future<T>(ctx.get_executor());
}

namespace detail {
/// A task's coroutine. It starts on a later turn of the loop, as asyncio's tasks do (Asio's
/// co_spawn would start it inside the caller), and refuses to start once cancelled (a
/// task cancelled before it starts never runs).
template <class T, class AwEx>
boost::asio::awaitable<T, AwEx> run_task(state_base* s, boost::asio::awaitable<T, AwEx> body) {
  co_await boost::asio::post(co_await boost::asio::this_coro::executor,
                             boost::asio::use_awaitable_t<AwEx>());
  if (!s->try_start()) throw cancelled_error();
  co_return co_await std::move(body);
}

template <class Executor>
struct is_strand : std::false_type {};
template <class Executor>
struct is_strand<boost::asio::strand<Executor>> : std::true_type {};

/// The executor a task runs on: `ex` if it is a strand already, else a new strand on it.
/// The strand serialises the coroutine with the cancellation delivered to it: on an
/// io_context run by several threads, a cancel() from anywhere then never runs while the
/// coroutine does.
template <class Executor>
auto task_executor(Executor const& ex) {
  if constexpr (is_strand<Executor>::value) {
    return ex;
  } else if constexpr (std::is_same_v<Executor, boost::asio::any_io_executor>) {
    if (ex.template target<boost::asio::strand<boost::asio::io_context::executor_type>>() ||
        ex.template target<boost::asio::strand<boost::asio::any_io_executor>>())
      return ex;
    return boost::asio::any_io_executor(boost::asio::make_strand(ex));
  } else {
    return boost::asio::make_strand(ex);
  }
}
}  // namespace detail

/// Runs a coroutine on `ex` and returns its future (asyncio.create_task; thread-safe, so
/// it is also run_coroutine_threadsafe). The coroutine runs on a strand of `ex` (on `ex`
/// itself if it is a strand). cancel() before it starts: it never runs; while it runs:
/// cancelled_error(msg) is delivered where it is suspended (at once if it is suspended
/// already, at its next co_await if it is running: a task may cancel itself), its current
/// co_await is cancelled, and the future is cancelled unless the coroutine catches that
/// and returns. An exception escaping the coroutine lands in the future, never in run().
///
/// \code
/// auto task = futura::create_task(ioc.get_executor(), fetch(url));   // future<std::string>
/// \endcode
template <detail::asio_executor Executor, class T, class AwEx>
future<T> create_task(Executor const& ex, boost::asio::awaitable<T, AwEx> body) {
  auto strand = detail::task_executor(ex);
  using state_t = detail::op_state<T, decltype(strand)>;
  auto* s = state_t::create_task_state(strand);
  detail::op_handler<T, state_t> handler(s);
  auto f = handler.get_future();
  boost::asio::co_spawn(std::move(strand), detail::run_task(s, std::move(body)),
                        std::move(handler));
  return f;
}
/// As create_task(ctx.get_executor(), body): `futura::create_task(ioc, fetch(url))`.
template <detail::asio_context Context, class T, class AwEx>
future<T> create_task(Context& ctx, boost::asio::awaitable<T, AwEx> body) {
  return create_task(ctx.get_executor(), std::move(body));
}

namespace detail {
template <class R>
struct is_awaitable : std::false_type {};
template <class T, class AwEx>
struct is_awaitable<boost::asio::awaitable<T, AwEx>> : std::true_type {};
/// A function object that takes nothing and returns an awaitable (a coroutine lambda).
template <class F>
concept coroutine_function = std::invocable<F&> && is_awaitable<std::invoke_result_t<F&>>::value;

/// Calls `fn` inside a coroutine frame that owns it: a lambda's captures then live as long
/// as the coroutine it returns, instead of dying with the temporary closure.
template <class F>
std::invoke_result_t<F&> call_owned(F fn) {
  co_return co_await fn();
}
}  // namespace detail

/// As create_task(ex, fn()), but `fn` (typically a capturing lambda returning an
/// awaitable) is kept alive until the coroutine ends, so its captures stay valid:
/// `futura::create_task(ex, [&]() -> awaitable<int> { co_return co_await step(x); })`.
template <class ExecutorOrContext, detail::coroutine_function F>
auto create_task(ExecutorOrContext&& ex, F fn) {
  return create_task(std::forward<ExecutorOrContext>(ex), detail::call_owned(std::move(fn)));
}

/// asyncio.run: runs `main` on a fresh io_context until no work is left, and returns its
/// result (or rethrows).
template <class T, class AwEx>
T run(boost::asio::awaitable<T, AwEx> main);
/// asyncio.run with a coroutine function (e.g. a capturing lambda), kept alive meanwhile.
template <detail::coroutine_function F>
auto run(F fn) {
  return run(detail::call_owned(std::move(fn)));
}

template <class T, class AwEx>
T run(boost::asio::awaitable<T, AwEx> main) {
  boost::asio::io_context loop;
  auto f = create_task(loop.get_executor(), std::move(main));
  loop.run();
  if constexpr (std::is_void_v<T>)
    f.result();
  else
    return std::move(f.result());
}

/// asyncio.sleep. Cancelling the coroutine interrupts it with cancelled_error.
template <class Rep, class Period>
boost::asio::awaitable<void> sleep(std::chrono::duration<Rep, Period> d) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, d);
  auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  if (ec == boost::asio::error::operation_aborted) throw cancelled_error();
}

namespace detail {
/// Mirrors the outcome of `from` into `to` unless `to` is already done.
template <class T>
void forward_outcome(state<T>& from, state<T>& to) {
  if (from.status() == value) {
    if constexpr (std::is_void_v<T>)
      to.try_set_value();
    else
      to.try_set_value(from.get());
  } else if (from.status() == cancelled) {
    to.cancel({});
  } else {
    to.try_set_exception(from.outcome_exception());
  }
}
}  // namespace detail

/// asyncio.wait_for: the result of `f`, or timeout_error if it is not done within `d`.
/// On timeout `f` is cancelled, and if it could be interrupted wait_for waits for it to
/// finish: a producer that suppresses the cancellation and returns wins. Cancelling the
/// coroutine that runs wait_for cancels `f`. A `d` <= 0 times out at once unless `f` is
/// done. Any token: `boost::asio::co_spawn(ex, futura::wait_for(f, d), token)`.
template <class T, class Rep, class Period>
boost::asio::awaitable<detail::awaited_t<T>> wait_for(future<T> f,
                                                      std::chrono::duration<Rep, Period> d) {
  auto ex = co_await boost::asio::this_coro::executor;
  // An operation that names no executor is cancelled on ours (we are where it was awaited).
  detail::state_of(f)->offer_executor_of(ex);
  if (!f.done() && d > d.zero()) {
    auto woken = create_future<void>(ex);  // either f finished or the timer fired
    auto wake = [s = detail::state_of(woken)] { s->try_set_value(); };
    auto const id = f.add_done_callback([woken, wake] { wake(); });
    boost::asio::steady_timer timer(ex, d);
    timer.async_wait([woken, wake](boost::system::error_code ec) {
      if (!ec) wake();
    });
    try {
      co_await woken;
    } catch (cancelled_error const&) {  // the caller was cancelled: so is f
      f.remove_done_callback(id);
      f.cancel();
      throw;
    }
    timer.cancel();
    f.remove_done_callback(id);
  }
  if (!f.done()) {
    bool const interrupting = f.cancel() && !f.done();
    if (!interrupting && !f.done()) throw timeout_error();  // it cannot be stopped: leave it
    try {
      co_return co_await f;  // the producer may still finish with a value
    } catch (cancelled_error const&) {
      throw timeout_error();
    }
  }
  co_return co_await f;
}

/// asyncio.timeout for a coroutine: runs `body` as a task, and on expiry cancels it and
/// throws timeout_error (wait_for on the task).
template <class T, class AwEx, class Rep, class Period>
boost::asio::awaitable<T> timeout(std::chrono::duration<Rep, Period> d,
                                  boost::asio::awaitable<T, AwEx> body) {
  auto task = create_task(co_await boost::asio::this_coro::executor, std::move(body));
  co_return co_await wait_for(std::move(task), d);
}

/// The same, in the order of wait_for: what is waited on first, then the duration (either
/// order reads, and does, the same).
template <class T, class AwEx, class Rep, class Period>
boost::asio::awaitable<T> timeout(boost::asio::awaitable<T, AwEx> body,
                                  std::chrono::duration<Rep, Period> d) {
  return timeout(d, std::move(body));
}

/// A future with a timeout is wait_for(f, d), in either order.
template <class T, class Rep, class Period>
boost::asio::awaitable<detail::awaited_t<T>> timeout(future<T> f,
                                                     std::chrono::duration<Rep, Period> d) {
  return wait_for(std::move(f), d);
}
/// As timeout(f, d): wait_for(f, d).
template <class T, class Rep, class Period>
boost::asio::awaitable<detail::awaited_t<T>> timeout(std::chrono::duration<Rep, Period> d,
                                                     future<T> f) {
  return wait_for(std::move(f), d);
}

namespace detail {
template <class F>
inline constexpr bool is_future_v = false;
template <class T>
inline constexpr bool is_future_v<future<T>> = true;
/// A body for a scope `S`: a function of `S&` (not a future, whose operator() takes any
/// completion token).
template <class F, class S>
concept scope_body = !is_future_v<F> && std::invocable<F&, S&>;
}  // namespace detail

/// asyncio.Timeout: the deadline of a timeout_at() (or timeout(d, body)) scope, handed to
/// its body, which may move it while it runs. Thread-safe.
class timeout_scope {
 public:
  /// Deadlines are on the steady clock, as every futura timeout.
  using clock = std::chrono::steady_clock;

  /// The current deadline; clock::time_point::max() for none (asyncio's `when() is None`).
  clock::time_point when() const {
    std::lock_guard lk(p_->m);
    return p_->when;
  }
  /// Moves the deadline (asyncio's reschedule()); time_point::max() removes it. A deadline
  /// already past expires the scope at once. No effect once the scope has expired.
  void reschedule(clock::time_point when) {
    std::lock_guard lk(p_->m);
    p_->when = when;
    if (p_->armed && !p_->expired) arm_locked(p_);
  }
  /// As reschedule(now + d).
  template <class Rep, class Period>
  void reschedule(std::chrono::duration<Rep, Period> d) {
    reschedule(detail::deadline_after(d));
  }
  /// Whether the deadline passed and the body was cancelled for it (asyncio's expired()),
  /// even if the body then caught the cancellation and finished anyway.
  bool expired() const {
    std::lock_guard lk(p_->m);
    return p_->expired;
  }

 private:
  template <class F>
  friend auto timeout_at(clock::time_point deadline, F body)
      -> std::invoke_result_t<F&, timeout_scope&>;

  struct impl {
    impl(boost::asio::any_io_executor ex, clock::time_point when) : timer(ex), when(when) {}
    mutable std::mutex m;
    boost::asio::steady_timer timer;
    clock::time_point when;
    future<> task;
    unsigned generation = 0;
    bool armed = false;
    bool expired = false;
  };
  explicit timeout_scope(std::shared_ptr<impl> p) noexcept : p_(std::move(p)) {}

  /// (Re)starts the timer for `when`; the wait it replaces is told apart by its generation.
  static void arm_locked(std::shared_ptr<impl> const& p) {
    unsigned const g = ++p->generation;
    p->armed = true;
    if (p->when == clock::time_point::max()) {
      p->timer.cancel();
      return;
    }
    p->timer.expires_at(p->when);
    p->timer.async_wait([p, g](boost::system::error_code ec) {
      if (ec) return;
      future<> task;
      {
        std::lock_guard lk(p->m);
        if (g != p->generation || p->expired) return;  // rescheduled meanwhile
        p->expired = true;
        task = p->task;
      }
      task.cancel("timed out");
    });
  }
  /// The scope is over: stop the timer, which holds the impl.
  void close() noexcept {
    std::lock_guard lk(p_->m);
    ++p_->generation;
    p_->timer.cancel();
  }

  std::shared_ptr<impl> p_;
};

/// asyncio.timeout_at as a scope: runs `body(scope)` (a function returning an awaitable,
/// typically a coroutine lambda) as a task, and cancels it when the scope's deadline
/// passes; the body may read and move the deadline through the timeout_scope& it is given.
/// If the body ends with the cancelled_error of an expired scope, that becomes
/// timeout_error (asyncio turns CancelledError into TimeoutError); a body that catches the
/// cancellation and returns still returns. Cancelling the caller cancels the body.
///
/// \code
/// auto fetch = futura::timeout_at(clock::now() + 5s, [&](futura::timeout_scope& cm)
///     -> boost::asio::awaitable<std::string> {
///   auto header = co_await read_header(sock);
///   cm.reschedule(clock::now() + 30s);   // a large body gets longer
///   co_return co_await read_body(sock, header);
/// });
/// std::string page = co_await std::move(fetch);
/// \endcode
template <class F>
auto timeout_at(timeout_scope::clock::time_point deadline, F body)
    -> std::invoke_result_t<F&, timeout_scope&> {
  using result_t = typename std::invoke_result_t<F&, timeout_scope&>::value_type;
  auto ex = co_await boost::asio::this_coro::executor;
  timeout_scope scope(std::make_shared<timeout_scope::impl>(ex, deadline));
  struct closer {
    timeout_scope& s;
    ~closer() { s.close(); }  // however the body ends: the timer must not outlive it
  } const closing{scope};
  auto task = create_task(ex, body(scope));  // `body` lives in this frame until the end
  {
    std::lock_guard lk(scope.p_->m);
    scope.p_->task = task;
    timeout_scope::arm_locked(scope.p_);
  }
  try {
    // A cancellation of ours cancels the task (asyncio).
    if constexpr (std::is_void_v<result_t>)
      co_await task;
    else
      co_return co_await task;
  } catch (cancelled_error const&) {
    if (scope.expired()) throw timeout_error();
    throw;
  }
}

/// asyncio.timeout as a scope: timeout_at(now + d, body), for a body taking the
/// timeout_scope&.
template <class Rep, class Period, detail::scope_body<timeout_scope> F>
auto timeout(std::chrono::duration<Rep, Period> d, F body) {
  return timeout_at(detail::deadline_after(d), std::move(body));
}

namespace detail {
template <class>
inline constexpr bool wrong_order = false;
}  // namespace detail

/// wait_for is asyncio.wait_for(aw, timeout): the future comes first.
template <class Rep, class Period, class T>
boost::asio::awaitable<detail::awaited_t<T>> wait_for(std::chrono::duration<Rep, Period>,
                                                      future<T>) {
  static_assert(detail::wrong_order<T>,
                "futura::wait_for takes the future first: wait_for(fut, duration) "
                "(or use futura::timeout, which takes either order)");
}

/// asyncio.shield: a future that mirrors `f`, but whose cancellation (or the cancellation
/// of whoever awaits it) leaves `f` running. Cancelling `f` cancels it. A done `f` is
/// returned as it is.
template <class T>
future<T> shield(future<T> const& f) {
  if (f.done()) return f;
  auto outer = create_future<T>();
  f.add_done_callback([outer](future<T> const& inner) {
    detail::forward_outcome(*detail::state_of(inner), *detail::state_of(outer));
  });
  return outer;
}

/// loop.run_in_executor: runs `fn(args...)` on `ex` (any Asio executor, or a
/// thread_pool_executor) and returns its future, awaitable from any loop. Cancelling it
/// before `fn` starts means `fn` never runs.
template <detail::asio_executor Executor, class F, class... Args>
auto run_in_executor(Executor const& ex, F&& fn, Args&&... args) {
  return submit(ex, std::forward<F>(fn), std::forward<Args>(args)...);
}
/// loop.run_in_executor on a thread_pool_executor: pool.submit(fn, args...).
template <class F, class... Args>
auto run_in_executor(thread_pool_executor& pool, F&& fn, Args&&... args) {
  return pool.submit(std::forward<F>(fn), std::forward<Args>(args)...);
}

}  // namespace futura

#endif
