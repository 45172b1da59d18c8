// futura/task_group.hpp: asyncio.TaskGroup: structured concurrency for coroutines.
#ifndef FUTURA_TASK_GROUP_HPP
#define FUTURA_TASK_GROUP_HPP

#include <futura/errors.hpp>
#include <futura/future.hpp>
#include <futura/loop.hpp>
#include <futura/submit.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <exception>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

namespace futura {

namespace detail {

/// What a task group shares with its children's done callbacks, which may run on any
/// thread (a child may be a thread-pool future).
class task_group_core {
 public:
  explicit task_group_core(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}

  boost::asio::any_io_executor const& executor() const noexcept { return ex_; }

  /// Registers a child; throws if the group no longer takes any, or if registering fails
  /// (out of memory: then nothing of it is counted).
  template <class T>
  void add(std::shared_ptr<task_group_core> const& self, future<T> const& child) {
    {
      std::lock_guard lk(m_);
      if (closed_) throw invalid_state_error("TaskGroup is finished");
      if (failing_) throw invalid_state_error("TaskGroup is shutting down");
      state_base* s = state_of(child);
      children_.push_back(s);
      s->add_ref();
      ++pending_;
    }
    try {
      child.add_done_callback([self](future<T> const& f) { self->on_child_done(*state_of(f)); });
    } catch (...) {
      child_lost();
      throw;
    }
  }

  /// Completes once no child is pending (at once if none is).
  future<void> idle() {
    auto f = create_future<void>(ex_);
    std::unique_lock lk(m_);
    if (pending_ == 0) {
      lk.unlock();
      f.set_result();
    } else {
      idle_waiters_.push_back(f);
    }
    return f;
  }

  /// No more children from now on; false if it was closed already.
  bool close() {
    std::lock_guard lk(m_);
    return !std::exchange(closed_, true);
  }

  /// The group itself was cancelled: no new children, every child not yet done is
  /// cancelled, and join() throws cancelled_error (unless children failed).
  void cancel_group() {
    {
      std::lock_guard lk(m_);
      failing_ = true;
      cancelled_ = true;
    }
    cancel_all();
  }
  bool group_cancelled() const {
    std::lock_guard lk(m_);
    return cancelled_;
  }

  /// Cancels every child not yet done.
  void cancel_all() {
    std::vector<state_base*> all;
    {
      std::lock_guard lk(m_);
      all = children_;
      for (auto* s : all) s->add_ref();
    }
    for (auto* s : all) {
      s->cancel({});
      s->release();
    }
  }

  std::vector<std::exception_ptr> errors() const {
    std::lock_guard lk(m_);
    return errors_;
  }

  ~task_group_core() {
    for (auto* s : children_) s->release();
  }

 private:
  /// A child counted by add() whose callback could not be registered.
  void child_lost() noexcept {
    std::vector<future<void>> wake;
    {
      std::lock_guard lk(m_);
      if (--pending_ == 0) wake.swap(idle_waiters_);
    }
    for (auto& w : wake) state_of(w)->try_set_value();
  }

  void on_child_done(state_base& child) {
    bool cancel_siblings = false;
    std::vector<future<void>> wake;
    {
      std::lock_guard lk(m_);
      if (child.status() == error && !is_operation_aborted(child.stored_exception())) {
        child.mark_retrieved();
        errors_.push_back(child.stored_exception());
        cancel_siblings = !std::exchange(failing_, true);
      }
      if (--pending_ == 0) wake.swap(idle_waiters_);
    }
    if (cancel_siblings) cancel_all();
    for (auto& w : wake) state_of(w)->try_set_value();
  }

  boost::asio::any_io_executor ex_;
  mutable std::mutex m_;
  std::vector<state_base*> children_;  // each holds a reference
  std::vector<std::exception_ptr> errors_;
  std::vector<future<void>> idle_waiters_;
  std::size_t pending_ = 0;
  bool closed_ = false;
  bool failing_ = false;
  bool cancelled_ = false;  // cancel() on the group
};
}  // namespace detail

/// Python's asyncio.TaskGroup. Spawn coroutines (and functions, and futures made
/// elsewhere) into it; the first child that fails cancels the others; `co_await join()`
/// waits for every child and then throws an exception_group listing every failure
/// ("unhandled errors in a TaskGroup (2 sub-exceptions)"; cancellations are left out). If
/// the coroutine in join() is cancelled, every child is cancelled and waited for, and
/// join() throws cancelled_error (an exception_group, if children failed, wins). A group
/// destroyed without join() cancels the children still running.
///
/// \code
/// futura::task_group tg(co_await boost::asio::this_coro::executor);
/// auto a = tg.spawn(fetch("a"));                       // future<std::string>
/// auto b = tg.spawn(pool.submit(parse, blob));         // a thread-pool future joins too
/// co_await tg.join();                                  // both done, or exception_group
/// \endcode
class task_group {
 public:
  /// An empty group whose coroutines and functions run on `ex` (usually the caller's,
  /// `co_await boost::asio::this_coro::executor`).
  explicit task_group(boost::asio::any_io_executor ex)
      : core_(std::make_shared<detail::task_group_core>(std::move(ex))) {}
  task_group(task_group const&) = delete;
  task_group& operator=(task_group const&) = delete;
  /// Without join(): cancels the children still running, and does not wait for them.
  ~task_group() {
    if (core_->close()) core_->cancel_all();
  }

  /// Runs a coroutine as a child task on the group's executor.
  template <class T, class AwEx>
  future<T> spawn(boost::asio::awaitable<T, AwEx> body) {
    auto f = create_task(core_->executor(), std::move(body));
    adopt(f);
    return f;
  }
  /// Makes a future from elsewhere (a pool task, an Asio operation) a child.
  template <class T>
  future<T> spawn(future<T> child) {
    adopt(child);
    return child;
  }
  /// Runs `fn(args...)` on the group's executor: a function returning an awaitable runs as
  /// a task; any other runs as a posted call.
  // clang-format off
  template <class F, class... Args>
    requires std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>
  auto spawn(F&& fn, Args&&... args) {
    // clang-format on
    using result = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    if constexpr (detail::coroutine_function<std::decay_t<F>> && sizeof...(Args) == 0) {
      return spawn(detail::call_owned(std::decay_t<F>(std::forward<F>(fn))));  // keeps captures
    } else if constexpr (requires(result r) { spawn(std::move(r)); }) {
      return spawn(std::invoke(std::forward<F>(fn), std::forward<Args>(args)...));
    } else {
      auto f = submit(core_->executor(), std::forward<F>(fn), std::forward<Args>(args)...);
      adopt(f);
      return f;
    }
  }

  /// Cancels every child not yet done and takes no new ones; join() then throws
  /// cancelled_error (exception_group if children failed). Thread-safe.
  void cancel() { core_->cancel_group(); }

  /// Waits for every child. Throws exception_group if any failed; cancelled_error if the
  /// caller or the group was cancelled. May be awaited once.
  boost::asio::awaitable<void> join() { co_await join_with({}); }

 private:
  template <class F>
  friend boost::asio::awaitable<void> with_task_group(F body);

  /// join(), with the body's own exception (with_task_group) listed first among the
  /// failures, as asyncio's __aexit__ lists it.
  boost::asio::awaitable<void> join_with(std::exception_ptr body_error) {
    if (!core_->close()) throw invalid_state_error("TaskGroup has already been joined");
    bool cancelled = false;
    try {
      co_await core_->idle();
    } catch (...) {
      if (!detail::is_operation_aborted(std::current_exception())) throw;
      cancelled = true;
    }
    if (cancelled) {
      core_->cancel_all();
      co_await boost::asio::this_coro::reset_cancellation_state();
      co_await core_->idle();
    }
    auto errors = core_->errors();
    if (body_error && !detail::is_operation_aborted(body_error))
      errors.insert(errors.begin(), body_error);
    if (!errors.empty())
      throw exception_group("unhandled errors in a TaskGroup", std::move(errors));
    if (body_error) std::rethrow_exception(body_error);  // the body's own cancellation
    if (cancelled || core_->group_cancelled()) throw cancelled_error();
  }

  /// A child refused (group joined or failing) is cancelled; tasks and posted calls start
  /// on a later turn of the loop, so it never runs.
  template <class T>
  void adopt(future<T> const& f) {
    try {
      core_->add(core_, f);
    } catch (...) {
      f.cancel();
      throw;
    }
  }

  std::shared_ptr<detail::task_group_core> core_;
};

/// `async with asyncio.TaskGroup() as tg: ...` as one expression: runs `co_await
/// body(tg)` (body returns an awaitable<void>), then joins. If the body throws, the
/// children are cancelled and waited for first; the body's exception is then listed first
/// in the exception_group, before the children's failures (a body that was cancelled
/// rethrows its cancellation, unless children failed), as asyncio does.
///
/// \code
/// auto body = [&](futura::task_group& tg) -> boost::asio::awaitable<void> {
///   tg.spawn(fetch("a"));
///   tg.spawn(fetch("b"));
///   co_return;
/// };
/// co_await futura::with_task_group(body);   // the lambda named first (g++ 12)
/// \endcode
template <class F>
boost::asio::awaitable<void> with_task_group(F body) {
  task_group tg(co_await boost::asio::this_coro::executor);
  std::exception_ptr body_error;
  try {
    auto run = body(tg);  // named first: g++ 12 and temporaries inside co_await
    co_await std::move(run);
  } catch (...) {
    body_error = std::current_exception();
  }
  if (body_error) {
    tg.cancel();  // and no new children: asyncio's group is shutting down
    // The body's cancellation must not also abort the wait for the children.
    co_await boost::asio::this_coro::reset_cancellation_state();
  }
  co_await tg.join_with(body_error);
}

}  // namespace futura

#endif
