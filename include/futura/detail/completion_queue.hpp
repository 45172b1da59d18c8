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
// A node's last touch of the queue is the CAS that pushes it (it rings a bell after, but
// the bell is its own). So the consumer, which knows how many nodes it hooked and how
// many it unhooked again, can tell when every other one is done with the queue by
// counting what arrives on the stack: no shared count per hook or per completion.
// detach() unhooks what it can; a node it could not unhook has been detached by its
// future's completion and is about to push itself: detach() spins until it has.
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
#include <new>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
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
  /// Room for `capacity` watches; an upper bound costs only address space (a node is
  /// constructed when it is used).
  explicit completion_queue(std::size_t capacity) noexcept : capacity_(capacity) {}
  completion_queue(completion_queue const&) = delete;
  completion_queue& operator=(completion_queue const&) = delete;
  ~completion_queue() { detach(); }

  /// Hooks a node onto `s`, which the caller keeps alive until the node is taken or the
  /// queue detached. If `s` is already done the node is queued at once. Throws bad_alloc
  /// (the first call allocates the nodes).
  void watch(state_base& s, std::size_t tag) {
    if (!nodes_) nodes_ = large_array<watch_node>::uninitialized(capacity_);  // at first use
    auto& w = *::new (static_cast<void*>(&nodes_[used_++])) watch_node;
    w.queue = this;
    w.watched = &s;
    w.tag = tag;
    w.complete = &on_complete;
    w.urgent = true;  // it only queues itself and rings: before the future's callbacks
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
        for (auto* n = reinterpret_cast<watch_node*>(h); n; ++arrived_) {  // reverse
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
    for (std::size_t i = 0; i < used_; ++i) {
      auto& w = nodes_[i];
      if (w.watched && w.watched->remove_node(&w)) ++unhooked_;
    }
    // The others have completed, or are completing: each is done with the queue once it
    // is on the stack. Count them there (they are not handed out any more).
    for (backoff b;;) {
      auto h = head_.exchange(0, std::memory_order_acquire);
      if (h & 1) {  // an armed bell nobody will ring: whoever waits on it must not hang
        auto* bell = reinterpret_cast<state_base*>(h & ~std::uintptr_t{1});
        try {
          bell->cancel({});
        } catch (...) {
        }
        bell->release();
      } else {
        for (auto* n = reinterpret_cast<watch_node*>(h); n; n = n->next_ready) ++arrived_;
      }
      if (arrived_ + discarded_.load(std::memory_order_acquire) == used_ - unhooked_) break;
      b.pause();
    }
    for (std::size_t i = 0; i < used_; ++i) nodes_[i].watched = nullptr;
  }

 private:
  static void on_complete(node* n, state_base* s) noexcept {
    auto* w = static_cast<watch_node*>(n);
    auto* q = w->queue;
    if (!s) {  // discarded unrun; cannot happen while the consumer holds s
      q->discarded_.fetch_add(1, std::memory_order_release);  // the last touch of *q
      return;
    }
    w->outcome = s->status();
    auto old = q->head_.load(std::memory_order_relaxed);
    do {
      w->next_ready = (old & 1) ? nullptr : reinterpret_cast<watch_node*>(old);
    } while (!q->head_.compare_exchange_weak(old, reinterpret_cast<std::uintptr_t>(w),
                                             std::memory_order_acq_rel, std::memory_order_relaxed));
    // That was the last touch of *q (or of *w): the consumer may free both now. The bell
    // is ours: the tagged word's reference came with it.
    if (old & 1) {
      auto* bell = reinterpret_cast<state_base*>(old & ~std::uintptr_t{1});
      static_cast<state<void>*>(bell)->try_set_value();
      bell->release();
    }
  }

  std::size_t capacity_;
  large_array<watch_node> nodes_;          // allocated at the first watch: none if nothing waits
  std::size_t used_ = 0;                   // nodes hooked
  std::size_t unhooked_ = 0;               // of those, taken back unrun by detach()
  std::atomic<std::uintptr_t> head_{0};    // watch_node* stack, or a tagged doorbell
  std::size_t arrived_ = 0;                // nodes the consumer took off the stack
  std::atomic<std::size_t> discarded_{0};  // nodes discarded unrun (never pushed)
  watch_node* local_ = nullptr;            // taken, not yet handed out; consumer only
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

/// What distinct_futures_into does with each future it keeps, by default: nothing.
struct ignore_kept {
  template <class F>
  void operator()(F const&, std::size_t) const noexcept {}
};

/// A std::vector, which owns its futures: given as an rvalue, they can be moved out.
template <class R>
inline constexpr bool is_future_vector_v = false;
template <class F, class A>
inline constexpr bool is_future_vector_v<std::vector<F, A>> = true;

/// A sized random-access range of futures it holds (its elements are lvalues: reading one
/// twice gives the same future): the one pass of distinct_futures_into needs the count
/// first, and reads an element more than once (to prefetch ahead).
template <class R>
concept readable_in_place = std::ranges::random_access_range<R> && std::ranges::sized_range<R> &&
    std::is_lvalue_reference_v<std::ranges::range_reference_t<R>>;

/// `fs` itself if it is readable_in_place, else its futures collected in a vector, each
/// element read once.
template <class T, class R>
decltype(auto) as_sized(R&& fs) {
  if constexpr (readable_in_place<R>) {
    return std::forward<R>(fs);
  } else {
    future_vector<T> all;
    for (auto&& f : fs) all.push_back(std::forward<decltype(f)>(f));
    return all;
  }
}

/// Appends the distinct futures of `fs` to the empty `out`, in first-occurrence order,
/// and calls `kept(f, i)` on each as it is kept (`i`, its index in `out`) while its state
/// is still in cache: over a million futures, a caller that looks at each state there
/// saves a walk over all of them. Throws invalid_state_error on an empty handle; what was
/// kept stays in `out`, so an owner that watched those can unhook before letting go. One
/// pass: an open-addressing set of state addresses finds the repeats. The futures of a
/// std::vector passed as an rvalue are moved, not copied; any other range is the
/// caller's (a range type need not say it is a view to be one).
template <class T, class R, class Kept = ignore_kept>
void distinct_futures_into(future_vector<T>& out, R&& fs, char const* who, Kept&& kept = {}) {
  if constexpr (!readable_in_place<R>) {
    distinct_futures_into<T>(out, as_sized<T>(std::forward<R>(fs)), who, std::forward<Kept>(kept));
  } else {
    constexpr bool steal = !std::is_lvalue_reference_v<R> && !std::is_const_v<R> &&
                           is_future_vector_v<std::remove_cvref_t<R>>;
    auto const n = static_cast<std::size_t>(std::ranges::size(fs));
    auto const it = std::ranges::begin(fs);
    out.reserve(n);
    int const bits = std::bit_width(n < 2 ? std::size_t{1} : n * 2 - 1);  // load factor <= 1/2
    std::size_t const mask = (std::size_t{1} << bits) - 1;
    large_array<std::uintptr_t> const slots(n < 2 ? 0 : mask + 1);  // zeroed
    auto const key = [&](std::size_t i) noexcept {
      return reinterpret_cast<std::uintptr_t>(state_of(static_cast<future<T> const&>(it[i])));
    };
    auto const home = [&](std::uintptr_t k) noexcept {
      return static_cast<std::size_t>((k >> 4) * 0x9E3779B97F4A7C15ull >> (64 - bits));
    };
    constexpr std::size_t ahead = 8;
    for (std::size_t i = 0; i < n; ++i) {
      // Over a million futures the states and the slots are out of cache: ask for those a
      // few places ahead, so the misses overlap.
      if (i + ahead < n)
        if (auto const k = key(i + ahead)) {
          __builtin_prefetch(reinterpret_cast<void const*>(k), 1);
          if (slots) __builtin_prefetch(&slots[home(k)], 1);
        }
      auto const k = key(i);
      if (!k) throw invalid_state_error(std::string(who) + ": a future has no state");
      if (slots) {
        auto h = home(k);
        for (; slots[h] && slots[h] != k; h = (h + 1) & mask) {
        }
        if (slots[h]) continue;  // seen before
        slots[h] = k;
      }
      if constexpr (steal)
        out.push_back(std::move(it[i]));
      else
        out.push_back(it[i]);
      kept(std::as_const(out.back()), out.size() - 1);
    }
  }
}

/// The distinct futures of `fs` in first-occurrence order; throws invalid_state_error on
/// an empty handle.
template <class T, class R>
future_vector<T> distinct_futures(R&& fs, char const* who) {
  future_vector<T> out;
  distinct_futures_into<T>(out, std::forward<R>(fs), who);
  return out;
}

}  // namespace futura::detail

#endif
