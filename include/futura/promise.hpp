// futura/promise.hpp: the producer end of a future, which notices being dropped.
#ifndef FUTURA_PROMISE_HPP
#define FUTURA_PROMISE_HPP

#include <futura/detail/task.hpp>
#include <futura/future.hpp>

#include <exception>
#include <utility>

namespace futura {

/// The producer-only end of a future. Move-only; destroying it before the future is done
/// completes the future with broken_promise, so nobody waits forever.
///
/// \code
/// futura::promise<int> p;
/// auto f = p.get_future();
/// std::thread([p = std::move(p)]() mutable { p.set_result(42); }).detach();
/// int v = f.result();
/// \endcode
template <class T>
class promise {
 public:
  /// A new pending future, with this promise as its producer.
  promise() = default;
  /// Takes over `o`'s future; `o` is left empty (its members throw invalid_state_error).
  promise(promise&&) noexcept = default;
  /// Takes over `o`'s future; the one this promise had, if not done, completes with
  /// broken_promise.
  promise& operator=(promise&&) noexcept = default;
  /// Exchanges the futures of the two promises.
  void swap(promise& o) noexcept { s_.swap(o.s_); }

  /// Another handle to the same future; may be called any number of times.
  future<T> get_future() const {
    checked();
    return s_.get_future();
  }

  /// Pending → running (true); cancelled → false (do not start the work).
  bool set_running_or_notify_cancel() const { return checked().set_running_or_notify_cancel(); }
  /// True once the future is done, whoever completed it (e.g. a consumer's cancel()).
  bool done() const { return checked().done(); }
  /// True if the future was cancelled (by a consumer's cancel()): the work is not wanted.
  bool cancelled() const { return checked().status() == detail::cancelled; }

  /// Completes the future; invalid_state_error if it is already done (first value kept).
  template <class... A>
  void set_result(A&&... a) const {
    checked().set_value(std::forward<A>(a)...);
  }
  /// Completes the future with the exception `e`; invalid_state_error if it is already done.
  void set_exception(std::exception_ptr e) const { checked().set_exception(std::move(e)); }
  /// As set_exception(std::make_exception_ptr(e)).
  template <class E>
  requires(!std::is_same_v<std::decay_t<E>, std::exception_ptr>) void set_exception(E&& e) const {
    set_exception(std::make_exception_ptr(std::forward<E>(e)));
  }

  /// As set_result/set_exception, but false instead of throwing when already done: for
  /// producers whose future may have been cancelled meanwhile.
  template <class... A>
  bool try_set_result(A&&... a) const {
    return checked().try_set_value(std::forward<A>(a)...);
  }
  /// As set_exception(e), but false instead of throwing when already done.
  bool try_set_exception(std::exception_ptr e) const {
    return checked().try_set_exception(std::move(e));
  }

 private:
  detail::state<T>& checked() const {
    if (!s_) throw invalid_state_error("promise has no state (moved from)");
    return *s_.get();
  }
  detail::producer_ref<T> s_;
};

}  // namespace futura

#endif
