// futura/wait.hpp: concurrent.futures.wait for every future.
#ifndef FUTURA_WAIT_HPP
#define FUTURA_WAIT_HPP

#include <futura/detail/completion_queue.hpp>
#include <futura/detail/future_range.hpp>
#include <futura/detail/gather.hpp>
#include <futura/errors.hpp>
#include <futura/future.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace futura {

/// When wait() returns (Python's FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED).
enum class return_when {
  first_completed,  ///< as soon as any future is done
  first_exception,  ///< as soon as any future fails (cancellation is not a failure), else all
  all_completed,    ///< once every future is done
};

/// What wait() returns: the distinct futures, split by whether they were done, each half in
/// first-occurrence order. An aggregate, so `auto [done, not_done] = wait(...)` works.
template <class T>
struct wait_result {
  /// The futures done (finished or cancelled) when the wait returned.
  std::vector<future<T>> done;
  /// The others: still pending or running then.
  std::vector<future<T>> not_done;
};

namespace detail {

inline bool valid_return_when(return_when rw) noexcept {
  return rw == return_when::first_completed || rw == return_when::first_exception ||
         rw == return_when::all_completed;
}

/// The blocking wait: nodes on the pending futures only, all unhooked before returning.
template <class T, class R>
wait_result<T> wait_until(R&& fs, return_when rw, std::chrono::steady_clock::time_point deadline) {
  future_vector<T> distinct;
  std::vector<std::size_t> pending;  // indices, as first seen: each is watched and counted
  bool any_done = false, any_failed = false;
  distinct_futures_into<T>(distinct, std::forward<R>(fs), "wait",
                           [&](future<T> const& f, std::size_t i) {
                             auto const st = state_of(f)->status();
                             if (is_done(st))
                               any_done = true, any_failed |= st == error;
                             else
                               pending.push_back(i);
                           });
  bool const satisfied = pending.empty() || (rw == return_when::first_completed && any_done) ||
                         (rw == return_when::first_exception && any_failed);
  if (!satisfied) {
    // Python checks the condition only when it has to wait for something.
    if (!valid_return_when(rw))
      throw std::invalid_argument("Invalid return condition: " +
                                  std::to_string(static_cast<int>(rw)));
    if (deadline > std::chrono::steady_clock::now()) {
      // The deadlock guard of result(): this thread would block the loop that has to
      // complete a future.
      loop_guard loops;
      for (auto i : pending) loops.add(*state_of(distinct[i]));
      loops.check("wait() on the thread running the loop of its futures",
                  [](context_registry*) { return true; });
    }
    completion_queue q(pending.size());
    // Watch exactly what was pending: one done since is queued at once and still counted
    // (skipping it would lose a failure that first_exception is waiting for).
    for (auto i : pending) q.watch(*state_of(distinct[i]), i);
    for (std::size_t seen = 0; auto* n = q.next(deadline);) {
      if (rw == return_when::first_completed) break;
      if (rw == return_when::first_exception && n->outcome == detail::error) break;
      if (++seen == q.watched()) break;
    }
  }  // ~completion_queue unhooks from every future it still listens to
  wait_result<T> out;
  for (auto& f : distinct) (f.done() ? out.done : out.not_done).push_back(std::move(f));
  return out;
}

inline constexpr auto forever = std::chrono::steady_clock::time_point::max();

/// Holds the children of a wait_some_state; a base listed before gather_core, so the
/// array outlives ~gather_core, which releases the children through it.
struct child_array {
  large_array<gather_child> kids;
};

/// The future behind async_wait_some: the gather core as a waiter. It completes with the
/// {done, not_done} split as soon as `rw` is met; then unhooks from the futures, never
/// cancelling them (cancelling the wait leaves them alone too: Python's L.74).
template <class T>
class wait_some_state final : public state<wait_result<T>>, child_array, public gather_core {
 public:
  static wait_some_state* create(future_vector<T> const& distinct, return_when rw) {
    auto* s = new wait_some_state(large_array<gather_child>(distinct.size()), rw);
    for (auto const& f : distinct) s->add_child(*state_of(f));
    return s;
  }
  /// The timeout: completes with the split as it is now.
  void expire() noexcept {
    if (!this->done()) finish();
  }

 private:
  wait_some_state(large_array<gather_child> kids, return_when rw) noexcept
      : child_array{std::move(kids)}, gather_core(*this, child_array::kids.get(), false), rw_(rw) {
    this->watch_abandon();
  }
  void on_abandoned() noexcept override { abandon(); }

  void on_outcome(state_base& s) noexcept override {
    if (!this->done() && (rw_ == return_when::first_completed ||
                          (rw_ == return_when::first_exception && s.status() == error)))
      finish();
  }
  void finish() noexcept override {
    try {
      wait_result<T> r;
      for (std::size_t i = 0; i < size(); ++i) {
        auto* c = static_cast<state_t<T>*>(child(i));
        c->add_ref();
        (c->done() ? r.done : r.not_done).push_back(adopt(c));
      }
      this->try_set_value(std::move(r));
    } catch (...) {
      this->try_set_exception(std::current_exception());
    }
  }

  return_when rw_;
};

/// A future of the split, completed without any thread blocked; a deadline needs an
/// executor for its timer.
template <class T, class R>
future<wait_result<T>> make_wait_some(R&& fs, return_when rw) {
  auto distinct = distinct_futures<T>(std::forward<R>(fs), "async_wait_some");
  bool const pending =
      std::any_of(distinct.begin(), distinct.end(), [](auto const& f) { return !f.done(); });
  if (pending && !valid_return_when(rw))
    throw std::invalid_argument("Invalid return condition: " +
                                std::to_string(static_cast<int>(rw)));
  auto* s = wait_some_state<T>::create(distinct, rw);
  s->add_ref();
  auto out = adopt<wait_result<T>>(s);
  s->start();
  return out;
}

template <class T>
struct initiate_wait_some {
  template <class Handler>
  void operator()(Handler&& h, future<wait_result<T>> out,
                  std::chrono::steady_clock::time_point deadline) const {
    if (deadline != forever && !out.done()) {
      // The timer runs where the handler will; the first of it and the futures wins, and
      // the loser is stopped so that nothing outlives the wait.
      auto ex = boost::asio::get_associated_executor(h);
      auto timer = std::make_shared<boost::asio::steady_timer>(ex, deadline);
      timer->async_wait([out](boost::system::error_code ec) {
        if (!ec) static_cast<wait_some_state<T>*>(state_of(out))->expire();
      });
      out.add_done_callback(boost::asio::bind_executor(ex, [timer] { timer->cancel(); }));
    }
    out.async_wait(std::forward<Handler>(h));
  }
};

}  // namespace detail

/// Blocks until every future in `fs` is done (Python's `concurrent.futures.wait`). Futures
/// already done count at once; a repeated future counts once; an empty range returns at
/// once. Cancelled futures are done. Works on any mix of producers.
///
/// \code
/// auto [done, not_done] = futura::wait(futures);
/// \endcode
template <detail::future_range R>
auto wait(R&& fs, return_when rw = return_when::all_completed) {
  using T = detail::range_future_value_t<R>;
  return detail::wait_until<T>(std::forward<R>(fs), rw, detail::forever);
}

/// As wait(fs, rw), giving up after `timeout` (<= 0: just look): what is not done by then
/// is in not_done; nothing is cancelled and nothing is thrown.
///
/// \code
/// auto [done, not_done] = futura::wait(futures, futura::return_when::first_completed,
///                                      std::chrono::milliseconds(50));
/// \endcode
template <detail::future_range R, class Rep, class Period>
auto wait(R&& fs, return_when rw, std::chrono::duration<Rep, Period> timeout) {
  using T = detail::range_future_value_t<R>;
  return detail::wait_until<T>(std::forward<R>(fs), rw, detail::deadline_after(timeout));
}

/// As wait(fs, return_when::all_completed, timeout).
///
/// \code
/// auto r = futura::wait(futures, std::chrono::seconds(1));
/// if (!r.not_done.empty()) report_slow(r.not_done);
/// \endcode
template <detail::future_range R, class Rep, class Period>
auto wait(R&& fs, std::chrono::duration<Rep, Period> timeout) {
  return futura::wait(std::forward<R>(fs), return_when::all_completed, timeout);
}

/// wait() on futures listed one by one, of any result types: the split holds them as
/// type-erased `future<>` (compare with the originals, or get them back with as<T>()).
///
/// \code
/// auto [done, not_done] = futura::wait(count, name);   // a future<int>, a future<std::string>
/// \endcode
template <class... T>
requires(sizeof...(T) > 0) wait_result<any_result> wait(future<T> const&... fs) {
  return futura::wait(std::vector<future<>>{fs...});
}

/// The async form of wait() for coroutines and callbacks: completes with the
/// `wait_result<T>` once `rw` is met; no thread blocks. An Asio operation with the
/// signature `void(std::exception_ptr, wait_result<T>)`: the handler runs on its associated
/// executor. Cancelling it leaves the futures running.
///
/// \code
/// auto [done, not_done] = co_await futura::async_wait_some(
///     futures, futura::return_when::first_completed, boost::asio::use_awaitable);
/// \endcode
template <detail::future_range R, class Token>
auto async_wait_some(R&& fs, return_when rw, Token&& token) {
  using T = detail::range_future_value_t<R>;
  return boost::asio::async_initiate<Token, void(std::exception_ptr, wait_result<T>)>(
      detail::initiate_wait_some<T>{}, token, detail::make_wait_some<T>(std::forward<R>(fs), rw),
      detail::forever);
}

/// As async_wait_some(fs, rw, token), giving up after `timeout` (counted from this call)
/// with the split as it is then: nothing is cancelled or thrown. The timer runs on the
/// handler's associated executor.
///
/// \code
/// auto r = co_await futura::async_wait_some(futures, futura::return_when::all_completed,
///                                           std::chrono::seconds(1), boost::asio::use_awaitable);
/// \endcode
template <detail::future_range R, class Rep, class Period, class Token>
auto async_wait_some(R&& fs, return_when rw, std::chrono::duration<Rep, Period> timeout,
                     Token&& token) {
  using T = detail::range_future_value_t<R>;
  auto const deadline = detail::deadline_after(timeout);
  return boost::asio::async_initiate<Token, void(std::exception_ptr, wait_result<T>)>(
      detail::initiate_wait_some<T>{}, token, detail::make_wait_some<T>(std::forward<R>(fs), rw),
      deadline);
}

}  // namespace futura

#endif
