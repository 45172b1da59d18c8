// futura/detail/completion_queue.hpp: the waiter behind wait() and as_completed().
//
// One consumer watches many futures. Each watched future gets a `watch_node` on its done
// list; when the future completes, the node pushes itself onto `head_`, a lock-free
// intrusive stack (the consumer takes the whole stack at once and reverses it, so nodes
// come out in completion order). Nothing is locked and nothing allocated per completion.
//
// To sleep, the consumer arms a doorbell: a future<void> whose state pointer, tagged with
// bit 0, it installs in `head_` in place of "empty". The node that replaces the tagged
// pointer owns the reference that came with it and rings the bell. Identity travels in
// the CAS'd word itself, so a bell re-armed at the same address is still the right bell.
// A blocking consumer waits on the bell with a deadline; an async one would async_wait on
// it. The consumer takes an unrung bell back by CAS'ing the tagged word to empty.
//
// `running_` counts nodes that may still touch the queue (hooked, or inside their
// callback). detach() unhooks what it can; a node it could not unhook has been detached by
// its future's completion and is about to run: detach() spins until it has (a few
// instructions: a node's last touch of the queue is its decrement; it rings the bell
// after).
#ifndef FUTURA_DETAIL_COMPLETION_QUEUE_HPP
#define FUTURA_DETAIL_COMPLETION_QUEUE_HPP

#include <futura/detail/large_block.hpp>
#include <futura/detail/shared_state.hpp>
#include <futura/future.hpp>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ranges>
#include <string>
#include <vector>

namespace futura::detail {

class completion_queue;

/// One per watched future.
struct watch_node final : node {
  completion_queue* queue = nullptr;
  state_base* watched = nullptr;  // null once the consumer took the node: it has run
  watch_node* next_ready = nullptr;
  std::size_t tag = 0;        // the consumer's index for this future
  std::uint32_t outcome = 0;  // the future's status when it completed
};

/// Single consumer, any number of completing threads. Not movable: nodes point to it.
class completion_queue {
 public:
  /// Room for `capacity` watches.
  explicit completion_queue(std::size_t capacity) : nodes_(capacity) {}
  completion_queue(completion_queue const&) = delete;
  completion_queue& operator=(completion_queue const&) = delete;
  ~completion_queue() { detach(); }

  /// Hooks a node onto `s`, which the caller keeps alive until the node is taken or the
  /// queue detached. If `s` is already done the node is queued at once.
  void watch(state_base& s, std::size_t tag) noexcept {
    auto& w = nodes_[used_++];
    w.queue = this;
    w.watched = &s;
    w.tag = tag;
    w.complete = &on_complete;
    w.urgent = true;  // it only queues itself and rings: before the future's callbacks
    running_.fetch_add(1, std::memory_order_relaxed);
    s.add_node(&w);
  }
  std::size_t watched() const noexcept { return used_; }

  /// The next completed node, oldest first, or nullptr if none has completed yet. Takes
  /// back an armed, unrung doorbell.
  watch_node* try_next() noexcept {
    if (!local_) {
      auto h = head_.load(std::memory_order_acquire);
      while (h) {
        if (h & 1) {  // armed and unrung: disarm
          if (head_.compare_exchange_weak(h, 0, std::memory_order_acquire,
                                          std::memory_order_acquire)) {
            reinterpret_cast<state_base*>(h & ~std::uintptr_t{1})->release();
            return nullptr;
          }
          continue;
        }
        h = head_.exchange(0, std::memory_order_acquire);
        for (auto* n = reinterpret_cast<watch_node*>(h); n;) {  // reverse: oldest first
          auto* next = n->next_ready;
          n->next_ready = local_;
          local_ = n;
          n = next;
        }
        break;
      }
      if (!local_) return nullptr;
    }
    auto* n = local_;
    local_ = n->next_ready;
    n->watched = nullptr;  // it ran: detach() must not touch its future, which may be gone
    return n;
  }

  /// Call after try_next() gave nothing: a future that completes when a node arrives
  /// (at once if one arrived meanwhile). Wait on it, then call try_next() again.
  future<void> arm() {
    auto* bell = state<void>::create();
    bell->add_ref();  // travels with the tagged word
    std::uintptr_t expected = 0;
    if (!head_.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(bell) | 1,
                                       std::memory_order_release, std::memory_order_relaxed)) {
      bell->release();
      bell->try_set_value();  // something is there already
    }
    return adopt(bell);
  }

  /// The next completed node, waiting until `deadline` for one; nullptr on timeout.
  watch_node* next(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      if (auto* n = try_next()) return n;
      if (deadline != std::chrono::steady_clock::time_point::max() &&
          std::chrono::steady_clock::now() >= deadline)
        return nullptr;
      auto bell = arm();
      state_of(bell)->wait_until(deadline);
    }
  }

  /// Unhooks every node still hooked and waits for those already running. After this no
  /// node touches the queue or a watched future. Idempotent.
  void detach() noexcept {
    std::size_t removed = 0;
    for (std::size_t i = 0; i < used_; ++i) {
      auto& w = nodes_[i];
      if (w.watched && w.watched->remove_node(&w)) ++removed;
    }
    if (removed) running_.fetch_sub(removed, std::memory_order_relaxed);
    for (backoff b; running_.load(std::memory_order_acquire) != 0;) b.pause();
    auto h = head_.exchange(0, std::memory_order_acquire);
    if (h & 1) {  // an armed bell nobody will ring: whoever waits on it must not hang
      auto* bell = reinterpret_cast<state_base*>(h & ~std::uintptr_t{1});
      try {
        bell->cancel({});
      } catch (...) {
      }
      bell->release();
    }
    for (std::size_t i = 0; i < used_; ++i) nodes_[i].watched = nullptr;
  }

 private:
  static void on_complete(node* n, state_base* s) noexcept {
    auto* w = static_cast<watch_node*>(n);
    auto* q = w->queue;
    state_base* bell = nullptr;
    if (s) {  // (nullptr: discarded unrun; cannot happen while the consumer holds s)
      w->outcome = s->status();
      auto old = q->head_.load(std::memory_order_relaxed);
      do {
        w->next_ready = (old & 1) ? nullptr : reinterpret_cast<watch_node*>(old);
      } while (!q->head_.compare_exchange_weak(old, reinterpret_cast<std::uintptr_t>(w),
                                               std::memory_order_acq_rel,
                                               std::memory_order_relaxed));
      if (old & 1) bell = reinterpret_cast<state_base*>(old & ~std::uintptr_t{1});
    }
    q->running_.fetch_sub(1, std::memory_order_release);  // the last touch of *q
    if (bell) {
      static_cast<state<void>*>(bell)->try_set_value();
      bell->release();
    }
  }

  large_array<watch_node> nodes_;
  std::size_t used_ = 0;
  std::atomic<std::uintptr_t> head_{0};  // watch_node* stack, or a tagged doorbell
  std::atomic<std::size_t> running_{0};
  watch_node* local_ = nullptr;  // taken, not yet handed out; consumer only
};

/// The loops of a set of futures, for the deadlock guard of a blocking wait on them: one
/// representative future per distinct loop, looked at once per loop.
class loop_guard {
 public:
  /// Notes the loop of `s`, if it is a pending loop-bound future of a loop not seen yet.
  void add(state_base& s) {
    if (!s.is_loop_bound() || s.done()) return;
    auto* r = s.loop_registry();
    for (auto* seen : reps_)
      if (seen->loop_registry() == r) return;
    reps_.push_back(&s);
  }
  bool empty() const noexcept { return reps_.empty(); }
  /// Throws invalid_state_error(what) if this thread runs the loop of a future that
  /// `still_pending(loop_registry)` says is still pending: waiting here would never end.
  template <class StillPending>
  void check(char const* what, StillPending&& still_pending) const {
    for (auto* rep : reps_)
      if (rep->in_loop_thread() && still_pending(rep->loop_registry()))
        throw invalid_state_error(what);
  }

 private:
  std::vector<state_base*> reps_;  // referenced by whoever owns the futures
};

/// The futures a wait or an as_completed holds for the length of the call.
template <class T>
using future_vector = std::vector<future<T>, large_allocator<future<T>>>;

/// The distinct futures of `fs` in first-occurrence order; throws invalid_state_error on
/// an empty handle. Linear: an open-addressing set of state addresses.
template <class T, class R>
future_vector<T> distinct_futures(R&& fs, char const* who) {
  future_vector<T> out;
  if constexpr (std::ranges::sized_range<R>) out.reserve(std::ranges::size(fs));
  auto const take = [&](auto const& f) {
    if (!f.valid()) throw invalid_state_error(std::string(who) + ": a future has no state");
    out.push_back(f);
  };
  if constexpr (std::ranges::random_access_range<R>) {
    // Each copy takes a reference on a state that, over a million futures, is out of
    // cache: ask for the states a few places ahead, so the misses overlap.
    constexpr std::size_t ahead = 8;
    auto const n = static_cast<std::size_t>(std::ranges::size(fs));
    auto const it = std::ranges::begin(fs);
    for (std::size_t i = 0; i < n; ++i) {
      if (i + ahead < n)
        if (auto* s = state_of(static_cast<future<T> const&>(it[i + ahead])))
          __builtin_prefetch(s, 1);
      take(it[i]);
    }
  } else {
    for (auto&& f : fs) take(f);
  }
  if (out.size() < 2) return out;
  int const bits = std::bit_width(out.size() * 2 - 1);  // load factor <= 1/2
  std::size_t const mask = (std::size_t{1} << bits) - 1;
  large_array<std::uintptr_t> const slots(mask + 1);  // zeroed
  std::size_t kept = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto const key = reinterpret_cast<std::uintptr_t>(state_of(out[i]));
    auto h = static_cast<std::size_t>((key >> 4) * 0x9E3779B97F4A7C15ull >> (64 - bits));
    for (; slots[h] && slots[h] != key; h = (h + 1) & mask) {
    }
    if (slots[h]) continue;  // seen before
    slots[h] = key;
    if (kept != i) out[kept] = std::move(out[i]);
    ++kept;
  }
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(kept), out.end());
  return out;
}

}  // namespace futura::detail

#endif
