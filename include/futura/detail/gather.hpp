// futura/detail/gather.hpp: the one core behind gather and gather_settled.
//
// A gather is a shared state of its own (a state<R>, so its future is an ordinary future)
// extended, in the same allocation, with one `gather_child` per argument: the node it hangs
// on that child's done list plus a reference to the child. Nothing else is allocated per
// child. Two counters drive it:
//
//   left_  children whose node has neither run nor been removed, +1 held by start() while
//          it registers. Whoever takes it to 0 builds R from the (all finished) children,
//          unless the gather is already done (failed or cancelled).
//   life_  2: "the children" (dropped by whoever takes left_ to 0) and "the self node"
//          (dropped when that node has run). The last drop releases the gather's own
//          reference, so the state outlives every node that points into it.
//
// The self node sits on the gather's own done list, registered after every child node, so
// it runs whenever the gather completes, however it completes: by a failing child, by the
// last child, or by the user's cancel(). It cancels the unfinished children if the gather
// was cancelled, and unhooks the child nodes that have not run (remove_node), so a failed
// or cancelled gather stops listening at once and the children it leaves behind hold
// nothing of it. Modes differ in two places only: a failing child completes a plain gather
// at once, and finish() reads values (plain) or outcomes (settled).
#ifndef FUTURA_DETAIL_GATHER_HPP
#define FUTURA_DETAIL_GATHER_HPP

#include <futura/detail/context_registry.hpp>
#include <futura/detail/derived.hpp>
#include <futura/detail/future_range.hpp>
#include <futura/detail/large_block.hpp>
#include <futura/detail/shared_state.hpp>
#include <futura/errors.hpp>
#include <futura/future.hpp>

#include <boost/system/result.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <new>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace futura::detail {

/// What one child contributes to a plain gather: its value; std::monostate for void; a
/// reference_wrapper for a reference.
template <class T>
struct gather_value {
  using type = T;
};
template <>
struct gather_value<void> {
  using type = std::monostate;
};
template <class T>
struct gather_value<T&> {
  using type = std::reference_wrapper<T>;
};
template <class T>
using gather_value_t = typename gather_value<T>::type;

/// What one child contributes to gather_settled: its value or its exception.
template <class T>
using settled_value_t =
    boost::system::result<std::conditional_t<std::is_reference_v<T>, gather_value_t<T>, T>,
                          std::exception_ptr>;

template <class T>
inline constexpr bool gatherable_v =
    std::is_void_v<T> || std::is_reference_v<T> || std::is_copy_constructible_v<T>;

/// Reads a finished child for a plain gather (copies: a child passed twice repeats).
template <class T>
gather_value_t<T> read_value(state_base* s) {
  auto& st = *static_cast<state<T>*>(s);
  if constexpr (std::is_void_v<T>)
    return {};
  else if constexpr (std::is_reference_v<T>)
    return std::ref(st.get());
  else
    return st.get();
}

/// Reads a finished child for gather_settled.
template <class T>
settled_value_t<T> read_settled(state_base* s) {
  using boost::system::in_place_error;
  using boost::system::in_place_value;
  switch (s->status()) {
    case value:
      if constexpr (std::is_void_v<T>)
        return settled_value_t<T>(in_place_value);
      else
        return settled_value_t<T>(in_place_value, read_value<T>(s));
    default:  // the error, or the cancelled_error
      return settled_value_t<T>(in_place_error, s->outcome_exception());
  }
}

/// What one finished child contributes: its value (plain gather) or its outcome (settled).
template <bool Settled, class T>
auto read_child(state_base* s) {
  if constexpr (Settled)
    return read_settled<T>(s);
  else
    return read_value<T>(s);
}

class gather_core;

/// One per child, in the gather's allocation: the node on the child's done list and one
/// reference to the child.
struct gather_child final : node {
  gather_core* owner = nullptr;
  state_base* child = nullptr;
};

/// Everything that does not depend on the result type. The derived state is both a
/// state<R> (`out_`) and a gather_core.
class gather_core {
 public:
  gather_core(gather_core const&) = delete;
  gather_core& operator=(gather_core const&) = delete;

  /// Hooks onto every child, then onto the gather itself. Call once, after the children are
  /// added and a reference to `out_` has been handed out; may complete it at once.
  void start() noexcept {
    left_.store(n_ + 1, std::memory_order_relaxed);  // not shared yet
    for (std::size_t i = 0; i < n_; ++i) children_[i].child->add_node(&children_[i]);
    // After the children: the self node may unhook any of them, so all must be hooked.
    out_.add_node(&self_);
    child_finished();  // start()'s own +1
  }

 protected:
  /// `owns_children`: a gather (cancelling it cancels the children; it claims their
  /// exceptions). Otherwise a waiter, which only looks.
  /// `children`: room for the children add_child() will add.
  gather_core(state_base& out, gather_child* children, bool owns_children) noexcept
      : out_(out), children_(children), owns_children_(owns_children) {
    self_.owner = this;
    self_.complete = &on_self;
  }
  ~gather_core() {
    for (std::size_t i = 0; i < n_; ++i)
      if (children_[i].child) children_[i].child->release();
  }

  /// Takes a reference to `child` as the next child; before start().
  void add_child(state_base& child) noexcept {
    child.add_ref();
    auto& c = *::new (static_cast<void*>(children_ + n_++)) gather_child;
    c.owner = this;
    c.child = &child;
    c.complete = &on_child;
  }
  state_base* child(std::size_t i) const noexcept { return children_[i].child; }

  /// A child finished (with `s` its state), before it is counted. May complete `out_`.
  virtual void on_outcome(state_base& s) noexcept = 0;
  /// gather's rule for a child that did not end with a value: the first one fails the
  /// gather with its exception (unless `settled`); every one is marked retrieved, as
  /// Python's gather does even for the ones it ignores.
  void fail_on_error(state_base& s, bool settled) noexcept {
    if (s.status() == value) return;
    auto e = s.outcome_exception();
    if (!settled && !out_.done()) out_.try_set_exception(std::move(e));
  }
  /// Every child is finished and the gather is still pending: build R and complete `out_`.
  virtual void finish() noexcept = 0;
  state_base& out() const noexcept { return out_; }
  std::size_t size() const noexcept { return n_; }

  /// The gather's future was dropped by every handle while pending (on_abandoned): unless
  /// something still waits on it (a callback, a waiter that holds no handle), stop
  /// listening to the children, so that they, and the gather, can go; they run on.
  void abandon() noexcept {
    if (!out_.only_node_is(&self_)) return;  // completed meanwhile, or observed
    abandoned_.store(true, std::memory_order_release);
    for (std::size_t i = 0; i < n_; ++i)
      if (children_[i].child->remove_node(&children_[i])) child_finished();
    if (out_.remove_node(&self_)) drop_life();  // the caller still holds a reference
  }

 private:
  struct self_node final : node {
    gather_core* owner = nullptr;
  };

  static void on_child(node* n, state_base* s) noexcept {
    auto& g = *static_cast<gather_child*>(n)->owner;
    if (s) g.on_outcome(*s);
    g.child_finished();
  }

  static void on_self(node* n, state_base* s) noexcept {
    auto& g = *static_cast<self_node*>(n)->owner;
    if (s && g.left_.load(std::memory_order_acquire) != 0) {
      bool const cancel = g.owns_children_ && s->status() == cancelled;
      std::string const msg = cancel ? cancel_message(*s) : std::string();
      for (std::size_t i = 0; i < g.n_; ++i) {
        auto& c = g.children_[i];
        if (cancel) cancel_quietly(*c.child, msg);  // runs c's node at once if it was pending
        // Still hooked (not cancellable, or we failed): stop listening, drop the count.
        // Python's gather keeps listening only to mark a late exception retrieved; marking
        // it now has the same effect and frees the child of us at once.
        if (c.child->remove_node(&c)) {
          if (g.owns_children_) c.child->mark_retrieved();
          g.child_finished();
        }
      }
    }
    g.drop_life();
  }

  void child_finished() noexcept {
    if (left_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    // A node removed by on_self was removed after the gather completed, and that removal
    // happens-before this point: so "not done" here means every child ran with a value
    // (or the gather was abandoned, and nobody will ever read it).
    if (!out_.done() && !abandoned_.load(std::memory_order_acquire)) finish();
    drop_life();
  }
  void drop_life() noexcept {
    if (life_.fetch_sub(1, std::memory_order_acq_rel) == 1) out_.release();  // may free *this
  }

  state_base& out_;
  gather_child* children_;
  std::size_t n_ = 0;
  self_node self_;
  std::atomic<std::size_t> left_{0};
  std::atomic<unsigned> life_{2};
  std::atomic<bool> abandoned_{false};
  bool owns_children_;
};

/// The children of a gather_tuple_state: a base listed before gather_core, so the array
/// exists when gather_core is given its address and outlives ~gather_core, which releases
/// the children through it.
template <std::size_t N>
struct child_storage {
  std::array<gather_child, N> children{};
};

/// gather(f1, f2, ...): the children in an array of its own.
template <bool Settled, class... T>
class gather_tuple_state final
    : public follows_loop<std::conditional_t<Settled, std::tuple<settled_value_t<T>...>,
                                             std::tuple<gather_value_t<T>...>>>,
      private child_storage<sizeof...(T)>,
      public gather_core {
 public:
  using result_type = std::conditional_t<Settled, std::tuple<settled_value_t<T>...>,
                                         std::tuple<gather_value_t<T>...>>;

  explicit gather_tuple_state(future<T> const&... fs) noexcept
      : gather_core(*this, this->children.data(), true) {
    (add_child(*state_of(fs)), ...);
    (this->follow_loop_of(*state_of(fs)), ...);
    this->watch_abandon();
  }

 private:
  void on_abandoned() noexcept override { abandon(); }
  void on_outcome(state_base& s) noexcept override { fail_on_error(s, Settled); }
  void finish() noexcept override {
    try {
      this->try_set_value(build(std::index_sequence_for<T...>{}));
    } catch (...) {  // a throwing copy
      this->try_set_exception(std::current_exception());
    }
  }
  template <std::size_t... I>
  result_type build(std::index_sequence<I...>) {
    return result_type{read_child<Settled, T>(child(I))...};
  }
};

template <bool Settled, class T>
using gather_range_result_t =
    std::conditional_t<Settled, std::vector<settled_value_t<T>>,
                       std::conditional_t<std::is_void_v<T>, void, std::vector<gather_value_t<T>>>>;

/// gather(range): the children trail the state in one allocation. A ready prefix costs
/// no child: while every future so far is done (with a value, for a plain gather), its
/// value is read as it is taken, with no node and no reference; from the first one that
/// is not, each becomes a child. Over a million ready futures that is one pass and no
/// atomic operation per future.
template <bool Settled, class T>
class gather_range_state final : public follows_loop<gather_range_result_t<Settled, T>>,
                                 public gather_core {
  using result_type = gather_range_result_t<Settled, T>;

 public:
  /// Room for `n` children, none constructed yet.
  static gather_range_state* create(std::size_t n) {
    void* mem = allocate_large(sizeof(gather_range_state) + n * sizeof(gather_child));
    auto* kids =
        reinterpret_cast<gather_child*>(static_cast<char*>(mem) + sizeof(gather_range_state));
    return ::new (mem) gather_range_state(kids, n);  // noexcept
  }
  /// Takes the next future, in input order; before the state is shared.
  void take(state_base& f) noexcept {
    if (size() == 0 && !copy_error_ && read_now(f)) return;
    add_child(f);
    this->follow_loop_of(f);
  }

  // The allocation is bigger than the class: free it the way it was made.
  static void operator delete(void* p) noexcept { deallocate_large(p); }

 private:
  struct no_values {};
  static_assert(alignof(gather_child) <= alignof(state_base));
  gather_range_state(gather_child* kids, std::size_t n) noexcept
      : gather_core(*this, kids, true), n_(n) {
    this->watch_abandon();
  }
  void on_abandoned() noexcept override { abandon(); }

  /// Reads `f` into the prefix if it may join it: done, with a value for a plain gather,
  /// and not loop-bound (a loop-bound one is followed, which needs a reference). A copy
  /// that throws ends the prefix, and fails the gather in finish(), as the copy would
  /// have there: only if no child fails it first.
  bool read_now(state_base& f) noexcept {
    if (!f.done() || f.is_loop_bound() || (!Settled && f.status() != value)) return false;
    try {
      if constexpr (!std::is_void_v<result_type>) {  // a plain void gather keeps nothing
        if (prefix_.empty()) prefix_.reserve(n_);
        prefix_.push_back(read_child<Settled, T>(&f));
      }
    } catch (...) {
      copy_error_ = std::current_exception();
    }
    return true;
  }

  void on_outcome(state_base& s) noexcept override { fail_on_error(s, Settled); }
  void finish() noexcept override {
    if (copy_error_) {
      this->try_set_exception(copy_error_);
      return;
    }
    try {
      if constexpr (std::is_void_v<result_type>) {
        this->try_set_value();
      } else {
        result_type r = std::move(prefix_);
        r.reserve(n_);
        for (std::size_t i = 0; i < size(); ++i) r.push_back(read_child<Settled, T>(child(i)));
        this->try_set_value(std::move(r));
      }
    } catch (...) {
      this->try_set_exception(std::current_exception());
    }
  }

  std::size_t n_;                  // futures taken in all: the prefix, then size() children
  std::exception_ptr copy_error_;  // a prefix copy that threw
  std::conditional_t<std::is_void_v<result_type>, no_values, result_type> prefix_;
};

inline state_base& checked_state(state_base* s) {
  if (!s) throw invalid_state_error("gather: a future has no state");
  return *s;
}

template <bool Settled, class... T>
auto make_gather(future<T> const&... fs) {
  static_assert((gatherable_v<T> && ...),
                "gather copies each child's value (a future passed twice gives it twice): "
                "the value type must be copyable");
  (checked_state(state_of(fs)), ...);
  using S = gather_tuple_state<Settled, T...>;
  using R = typename S::result_type;
  auto* s = new S(fs...);  // its one reference is the machinery's
  s->add_ref();
  auto out = adopt<R>(s);
  s->start();
  return out;
}

template <bool Settled, class T, class Range>
auto make_gather_range(Range&& fs) {
  static_assert(gatherable_v<T>,
                "gather copies each child's value (a future passed twice gives it twice): "
                "the value type must be copyable");
  using S = gather_range_state<Settled, T>;
  using R = gather_range_result_t<Settled, T>;
  if constexpr (std::ranges::sized_range<Range>) {
    auto const n = static_cast<std::size_t>(std::ranges::size(fs));
    S* s = S::create(n);
    std::size_t i = 0;
    try {
      for (auto&& f : fs) {
        if (i == n) break;  // a range that lied about its size
        s->take(checked_state(state_of(static_cast<future<T> const&>(f))));
        ++i;
      }
      if (i != n) throw std::length_error("gather: the range is shorter than its size()");
    } catch (...) {
      s->release();  // never started: nothing is hooked; releases the children taken
      throw;
    }
    s->add_ref();
    auto out = adopt<R>(s);
    s->start();
    return out;
  } else {
    std::vector<future<T>> all;
    for (auto&& f : fs) all.push_back(f);
    return make_gather_range<Settled, T>(all);
  }
}

}  // namespace futura::detail

#endif
