// futura/detail/task.hpp: a function call bound to a future, runnable by any executor.
// future.hpp first, outside the guard: it includes this header back (for then()), which
// must then see future<T> complete whichever of the two a user included first.
#include <futura/future.hpp>

#ifndef FUTURA_DETAIL_TASK_HPP
#define FUTURA_DETAIL_TASK_HPP

#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace futura::detail {

/// Owns the producer's reference to a state: dropping it unset completes the future with
/// broken_promise. The producer end of promise<T>, tasks and completion handlers.
template <class T>
class producer_ref {
 public:
  producer_ref() : s_(state<T>::create()) {}
  /// Takes over the creation reference of a state made elsewhere (a loop or op state).
  explicit producer_ref(state<T>* s) noexcept : s_(s) {}
  producer_ref(producer_ref&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  producer_ref& operator=(producer_ref&& o) noexcept {
    producer_ref(std::move(o)).swap(*this);
    return *this;
  }
  ~producer_ref() {
    if (s_) {
      s_->abandon();
      s_->release();
    }
  }
  void swap(producer_ref& o) noexcept { std::swap(s_, o.s_); }
  explicit operator bool() const noexcept { return s_ != nullptr; }
  state<T>* get() const noexcept { return s_; }
  state<T>* operator->() const noexcept { return s_; }
  future<T> get_future() const noexcept {
    s_->add_ref();
    return adopt(s_);
  }

 private:
  state<T>* s_;
};

/// Calls `fn(args...)` and completes `s` with what it returns or throws. The call is
/// destroyed before the future completes, so whoever sees the result sees the captures
/// released. A future already done (cancelled, or set by hand) drops the result quietly.
template <class T, class Call>
void invoke_into(state<T>& s, std::optional<Call>& call) noexcept {
  try {
    if constexpr (std::is_void_v<T>) {
      std::apply([](auto&& fn, auto&&... a) { std::invoke(std::move(fn), std::move(a)...); },
                 std::move(*call));
      call.reset();
      s.try_set_value();
    } else if constexpr (std::is_reference_v<T>) {
      T r = std::apply(
          [](auto&& fn, auto&&... a) -> T { return std::invoke(std::move(fn), std::move(a)...); },
          std::move(*call));
      call.reset();
      s.try_set_value(r);
    } else {
      T r = std::apply(
          [](auto&& fn, auto&&... a) { return std::invoke(std::move(fn), std::move(a)...); },
          std::move(*call));
      call.reset();
      s.try_set_value(std::move(r));
    }
  } catch (...) {
    call.reset();
    s.try_set_exception(std::current_exception());
  }
}

/// What the future of `fn(args...)` holds. An rvalue reference result (a data member
/// pointer, a getter returning T&&) refers into the decay-copied call, which is destroyed
/// before the future completes: the future holds the value instead.
template <class F, class... Args>
using task_result_t =
    std::conditional_t<std::is_rvalue_reference_v<std::invoke_result_t<F&&, Args&&...>>,
                       std::remove_cvref_t<std::invoke_result_t<F&&, Args&&...>>,
                       std::invoke_result_t<F&&, Args&&...>>;

/// A posted function call and its future: the handler futura::submit and the thread pool
/// post. Move-only; destroyed unrun, it breaks its promise.
template <class F, class... Args>
class task {
 public:
  using result_type = task_result_t<F, Args...>;

  template <class G, class... A>
  explicit task(G&& fn, A&&... a)
      : call_(std::in_place, std::forward<G>(fn), std::forward<A>(a)...) {}
  task(task&&) noexcept = default;
  task& operator=(task&&) noexcept = default;

  future<result_type> get_future() const noexcept { return out_.get_future(); }
  /// The shared state, for an executor that must cancel or fail queued work by itself.
  state_base* shared_state() const noexcept { return out_.get(); }

  /// Runs the call unless the future was cancelled (or completed by hand) first.
  void operator()() noexcept {
    if (out_->try_start())
      invoke_into(*out_.get(), call_);
    else
      call_.reset();
  }
  /// Completes without running: for an executor that refuses the work.
  void fail(std::exception_ptr e) noexcept {
    call_.reset();
    out_->try_set_exception(std::move(e));
  }
  void cancel() noexcept {
    call_.reset();
    out_->cancel({});
  }

 private:
  producer_ref<result_type> out_;
  std::optional<std::tuple<F, Args...>> call_;
};

}  // namespace futura::detail

#endif
