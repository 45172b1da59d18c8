// futura/detail/derived.hpp: what futures made from other futures (gather, then) share.
#ifndef FUTURA_DETAIL_DERIVED_HPP
#define FUTURA_DETAIL_DERIVED_HPP

#include <futura/detail/shared_state.hpp>

#include <string>

namespace futura::detail {

/// The message a cancelled state was cancelled with, to pass on to its sources.
inline std::string cancel_message(state_base const& s) noexcept {
  return cancel_message_of(s.stored_exception());
}

/// cancel() allocates only to build its message; a bad_alloc cancels nothing.
inline void cancel_quietly(state_base& s, std::string const& msg) noexcept {
  try {
    s.cancel(msg);
  } catch (...) {
  }
}

/// A state<R> made from other futures (a gather, a then() continuation) that follows the
/// loop of its first loop-bound source (asyncio's gather belongs to its children's loop):
/// its callbacks are posted there, and a blocking wait on that loop's thread is refused,
/// as for the source itself. It holds its sources, so the one it follows outlives it.
template <class R>
class follows_loop : public state<R> {
 protected:
  /// Follows `child`'s loop if it is loop-bound and no child was followed yet; before the
  /// state is shared.
  void follow_loop_of(state_base& child) noexcept {
    if (!loop_child_ && child.is_loop_bound()) {
      loop_child_ = &child;
      this->set_loop_bound();
    }
  }

 private:
  void post_node(bound_node* n, state_base& owner) noexcept override {
    loop_child_->post_node(n, owner);
  }
  bool in_loop_thread() const noexcept override {
    return loop_child_ && loop_child_->in_loop_thread();
  }
  context_registry* loop_registry() const noexcept override {
    return loop_child_ ? loop_child_->loop_registry() : nullptr;
  }

  state_base* loop_child_ = nullptr;
};

}  // namespace futura::detail

#endif
