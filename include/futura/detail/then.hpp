// futura/detail/then.hpp: future<T>::then, a continuation run as a done callback. Included
// by future.hpp.
#ifndef FUTURA_DETAIL_THEN_HPP
#define FUTURA_DETAIL_THEN_HPP

#include <futura/detail/async_wait.hpp>
#include <futura/detail/derived.hpp>
#include <futura/detail/task.hpp>
#include <futura/future.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>

#include <atomic>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace futura::detail {

/// What `fut.then(fn)` holds: fn's result, given the source's value (nothing for void).
template <class T, class F>
struct then_result {
  using type = task_result_t<F, awaited_t<T>>;
};
template <class F>
struct then_result<void, F> {
  using type = task_result_t<F>;
};
template <class T, class F>
using then_result_t = typename then_result<T, std::decay_t<F>>::type;

/// The future of a continuation: a state<U> that holds its source, follows the source's
/// loop, and is completed by a done callback on the source (which holds the producer's
/// reference). Completed first (cancelled, or by hand), it takes its callback off the
/// source, and, if it `owns` the source, cancels it. Dropped by every handle while
/// nothing waits on it, it lets go of the source: fn still runs if the source completes
/// (`f.then(log)`, fire and forget), and a source that never can is freed with it.
template <class T, class U>
class then_state final : public follows_loop<U> {
 public:
  template <class F>
  static future<U> start(future<T> source, bool owns, F&& fn) {
    auto* s = new then_state(std::move(source), owns);
    producer_ref<U> producer(s);  // the creation reference, for the callback
    s->add_ref();
    auto out = adopt(static_cast<state<U>*>(s));
    s->add_node(&s->self_);
    auto run = [producer = std::move(producer),
                call = std::optional<std::tuple<std::decay_t<F>>>(
                    std::in_place, std::forward<F>(fn))](future<T> const& src) mutable {
      complete_from(*producer.get(), *state_of(src), call);
    };
    // fn's own executor, if it has one, is where it runs (else the source's loop, else
    // the completing thread: add_done_callback's rule).
    if constexpr (has_executor_v<std::decay_t<F>>)
      s->callback_ = s->source_.add_done_callback(
          boost::asio::bind_executor(boost::asio::get_associated_executor(fn), std::move(run)));
    else
      s->callback_ = s->source_.add_done_callback(std::move(run));
    return out;
  }

 private:
  then_state(future<T> source, bool owns) noexcept : source_(std::move(source)), owns_(owns) {
    this->follow_loop_of(*state_of(source_));
    this->watch_abandon();
    self_.owner = this;
    self_.complete = &on_self;
  }

  /// The source is done: run the call on its value, or pass its failure on.
  template <class Call>
  static void complete_from(state<U>& out, state_t<T>& in, std::optional<Call>& call) noexcept {
    if (in.status() == cancelled) {
      out.try_set_cancelled(in.outcome_exception());
    } else if (in.status() != value) {
      in.mark_retrieved();  // the continuation's future carries it on
      out.try_set_exception(in.outcome_exception());
    } else if (out.try_start()) {  // not cancelled meanwhile: fn runs
      if constexpr (std::is_void_v<T>) {
        invoke_into(out, call);
      } else {
        std::optional<std::tuple<std::tuple_element_t<0, Call>, awaited_t<T>>> with_value;
        try {
          with_value.emplace(std::move(std::get<0>(*call)), value_for_waiter(in));
        } catch (...) {  // copying the value threw, or a move-only value was taken
          out.try_set_exception(std::current_exception());
          return;
        }
        invoke_into(out, with_value);
      }
    }
  }

  struct self_node final : node {
    then_state* owner = nullptr;
  };
  /// The continuation's future completed (or died pending: `s` null).
  static void on_self(node* n, state_base* s) noexcept {
    if (!s) return;
    auto& self = *static_cast<self_node*>(n)->owner;
    if (self.owns_ && s->status() == cancelled)
      cancel_quietly(*state_of(self.source_), cancel_message(*s));
    // Still waiting on the source (not if the callback is what completed us): stop.
    self.source_.remove_done_callback(self.callback_.load(std::memory_order_acquire));
  }
  void on_abandoned() noexcept override {
    // Done, or something still waits on it; else on_self will never run, and nothing
    // but the callback (which has its own handle) reads source_ again.
    if (!this->only_node_is(&self_) || !this->remove_node(&self_)) return;
    future<T> let_go = std::move(source_);
  }

  future<T> source_;
  self_node self_;
  std::atomic<callback_id> callback_{0};
  bool owns_;
};

}  // namespace futura::detail

namespace futura {

template <class T>
template <class F>
auto future<T>::then(F&& fn) const& {
  this->checked();
  return detail::then_state<T, detail::then_result_t<T, F>>::start(*this, false,
                                                                   std::forward<F>(fn));
}

template <class T>
template <class F>
auto future<T>::then(F&& fn) && {
  this->checked();
  return detail::then_state<T, detail::then_result_t<T, F>>::start(std::move(*this), true,
                                                                   std::forward<F>(fn));
}

}  // namespace futura

#endif
