// futura/detail/shared_state.hpp: the one core every future, promise, executor and token
// is built on.
//
// A shared state is one allocation: a 32-bit state word, a reference count, the done list
// and the payload. The state word holds the status and two flags:
//
//      bits 0-2: status    bit 3: locked    bit 4: has_nodes (the done list is not empty)
//      bit 5: cancel_requested (cancel() reached a running producer that can be interrupted)
//
//                 set_running_or_notify_cancel()
//      +---------+ ----------------------------> +---------+
//      | pending |                               | running |
//      +---------+                               +---------+
//        |  |  cancel()          set_result() /   |  |  cancel() + interrupt hook, then
//        |  |                   set_exception()   |  |  the producer completes cancelled
//        |  v                                     v  v
//        | +-----------+                  +----------+----------+
//        | | cancelled |                  |  value   |  error   |
//        | +-----------+                  +----------+----------+
//        +--------------------------------------^  (finished: status >= value)
//
// Every transition out of pending/running takes the lock bit with one CAS, writes the
// payload, then publishes the final status with one release store that also drops the lock
// and detaches the done list, whose nodes then run outside the lock in registration order.
// Readers never lock: an acquire load that sees a finished status sees the payload. The
// lock also guards the done list, so add/remove of a callback or a blocked thread is
// serialised with completion and no node is ever lost or run twice. Nothing here takes a
// mutex: blocked threads park on a node of their own, so a future nobody blocks on never
// touches the kernel. The done list runs urgent nodes first (blocked threads, wait() and
// as_completed() watchers), then the rest in registration order: CPython wakes its
// waiters before it calls the callbacks, so a slow callback never delays a result().
//
// A cancel() that reaches a running producer which can be interrupted (an Asio operation,
// a task) cannot complete the state itself: it records the request (and its message, in
// error_) under the lock and asks the producer to stop; the producer then completes the
// state, cancelled, with that message.
#ifndef FUTURA_DETAIL_SHARED_STATE_HPP
#define FUTURA_DETAIL_SHARED_STATE_HPP

#include <futura/errors.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iosfwd>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace futura {

/// Where a future is in its life (Python's PENDING, RUNNING, CANCELLED, FINISHED).
enum class future_state : unsigned char { pending, running, cancelled, finished };
/// \var futura::future_state::pending
/// Not started: cancel() succeeds.
/// \var futura::future_state::running
/// Started by its producer: cancel() succeeds only if the producer can be interrupted
/// (an Asio operation, a task), not for a running function or a promise's work.
/// \var futura::future_state::cancelled
/// Done, cancelled: result() throws cancelled_error.
/// \var futura::future_state::finished
/// Done with a value or an exception: result() returns or rethrows it.

/// Identifies a callback for `remove_done_callback`.
using callback_id = std::uint64_t;

namespace detail {

enum status : std::uint32_t { pending = 0, running = 1, value = 2, error = 3, cancelled = 4 };
inline constexpr std::uint32_t status_mask = 7;
inline constexpr std::uint32_t locked_bit = 8;
inline constexpr std::uint32_t has_nodes_bit = 16;
inline constexpr std::uint32_t cancel_requested_bit = 32;

constexpr bool is_done(std::uint32_t w) noexcept {
  return (w & status_mask) >= value;
}

class state_base;

/// A link in the done list: a callback, a blocked thread, an awaiting coroutine. The owner
/// of the memory decides: callback nodes free themselves, waiter nodes live on a stack.
struct node {
  node* next = nullptr;
  node* prev = nullptr;
  /// Runs once: with the state when the future completes, or with nullptr when the node is
  /// discarded unrun (removed, or the state dies pending); then it must only free itself.
  void (*complete)(node*, state_base*) noexcept = nullptr;
  callback_id id = 0;
  /// Runs before the other nodes: it only wakes someone (a blocked thread, a watcher).
  bool urgent = false;
};

class context_registry;
struct bound_node;

/// Spin briefly, then yield: the lock is only ever held for a few instructions (or one
/// payload move), but on two cores its holder may be preempted.
struct backoff {
  unsigned n = 0;
  void pause() noexcept;
};

/// Everything that does not depend on T, compiled once in src/.
class state_base {
 public:
  /// What a derived state adds; fixed at construction, so reading it needs no ordering.
  enum traits : std::uint8_t {
    plain = 0,
    loop_bound = 1,        // done callbacks are posted to a loop; result() there is refused
    interruptible = 2,     // a running producer can be asked to stop (Asio op, coroutine)
    late_executor = 4,     // ...but only once a waiter offers an executor (offer_executor)
    suppressible = 8,      // a task: its coroutine may catch a cancellation and return a value
    watches_abandon = 16,  // told (on_abandoned) when its own reference is about to be the last
  };

  /// A producer that starts its work at once may create the state running, and with the
  /// references of both ends (its own and the future's) already counted.
  explicit state_base(std::uint8_t t = plain, std::uint32_t initial_status = pending,
                      std::uint32_t initial_refs = 1) noexcept
      : word_(initial_status), refs_(initial_refs), traits_(t) {}
  state_base(state_base const&) = delete;
  state_base& operator=(state_base const&) = delete;

  // Handles. May call from any thread.
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (traits_ & watches_abandon) return release_watched();  // read while ours is held
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
  }

  // Observers. May call from any thread; never block.
  std::uint32_t status() const noexcept {
    return word_.load(std::memory_order_acquire) & status_mask;
  }
  bool done() const noexcept { return is_done(word_.load(std::memory_order_acquire)); }
  /// Named apart from state<T>, whose injected class name would hide it.
  future_state public_state() const noexcept;

  // Transitions. May call from any thread.
  bool cancel(std::string_view msg);
  bool set_running_or_notify_cancel();
  /// Pending → running (true); false from any other state. For producers.
  bool try_start() noexcept;
  bool try_set_exception(std::exception_ptr e);
  void set_exception(std::exception_ptr e);
  /// Completes with broken_promise unless already done: the producer is gone.
  void abandon() noexcept;
  /// Pending or running → cancelled, from the producer's side (an operation that ended
  /// with operation_aborted); false if already done.
  bool try_set_cancelled(std::exception_ptr thrown = nullptr) noexcept;
  /// As try_set_exception, but an error that ends a producer after cancel() asked it to
  /// stop completes the future cancelled instead (the operation reports its cancellation
  /// with an error code of its own, e.g. a channel's "Channel cancelled").
  bool try_fail_or_cancel(std::exception_ptr e);

  bool is_loop_bound() const noexcept { return traits_ & loop_bound; }
  std::uint8_t traits() const noexcept { return traits_; }
  /// A waiter that runs on an executor offers it (a boost::asio::any_io_executor, type
  /// erased: this header does not depend on Asio) to a state that needs one to interrupt
  /// its producer (late_executor); the first offer wins.
  virtual void offer_executor(void const* any_io_executor) noexcept { (void)any_io_executor; }
  template <class Executor>
  void offer_executor_of(Executor const& ex) noexcept;
  /// Loop-bound states: runs `n` (a node of `owner`, this state or one that follows this
  /// state's loop) on the loop, later (asyncio's call_soon); if the loop drops it unrun,
  /// it is dropped. Called only through the loop's registry, which keeps the loop alive.
  virtual void post_node(bound_node* n, state_base& owner) noexcept;
  /// Loop-bound states: whether the calling thread is running the loop, where a blocking
  /// wait for this future could never end. False once the loop is gone.
  virtual bool in_loop_thread() const noexcept { return false; }
  /// Loop-bound states: the registry of their loop's context (see context_registry.hpp),
  /// which outlives it; nullptr if the loop does not say which context it is.
  virtual context_registry* loop_registry() const noexcept { return nullptr; }
  /// Throws invalid_state_error if a blocking wait from this thread could never end: the
  /// future is pending and loop-bound, and this thread runs its loop.
  void guard_blocking_wait(char const* what) const {
    if (is_loop_bound() && !done() && in_loop_thread()) throw invalid_state_error(what);
  }

  // Waiting. Blocks the calling thread until done, or until the deadline (false).
  void wait() const;
  bool wait_until(std::chrono::steady_clock::time_point deadline) const;

  // The done list. add_node runs `n` at once (returns false) if already done.
  bool add_node(node* n);
  /// Unlinks `n` if the future is still pending (true); false if it completed, in which
  /// case `n` has run or is about to.
  bool remove_node(node* n);
  std::size_t remove_callback(callback_id id);
  /// True if `n` is the only node on the done list (nothing else waits on the future).
  bool only_node_is(node const* n) noexcept;
  callback_id next_callback_id() noexcept {
    return next_id_.fetch_add(1, std::memory_order_relaxed) + 1;
  }

  // Reading a finished state.
  std::exception_ptr const& stored_exception() const noexcept { return error_; }
  [[noreturn]] void rethrow_error() const;  // error or cancelled
  std::exception_ptr exception_or_null() const;
  /// Never throws: nullptr after a value, the error, or a cancelled_error.
  std::exception_ptr outcome_exception() const noexcept;
  void mark_retrieved() const noexcept { flags_.fetch_or(retrieved, std::memory_order_relaxed); }
  /// A move-only value is handed to one waiter, moved out: true for the one that may take
  /// it, false for everyone after (its value is gone).
  bool take_value() const noexcept {
    return !(flags_.fetch_or(taken, std::memory_order_acq_rel) & taken);
  }
  bool value_taken() const noexcept { return flags_.load(std::memory_order_acquire) & taken; }
  [[noreturn]] static void throw_value_taken();
  /// True if the caller's handle is the only one (nobody else could ever read the future).
  bool sole_reference() const noexcept { return refs_.load(std::memory_order_acquire) == 1; }

  /// The T of the state<T> this is (future<>::as<T>() checks it).
  virtual std::type_info const& value_type() const noexcept = 0;
  /// Python's repr: "<Future at 0x... state=finished returned int>".
  void write_repr(std::ostream& os) const;
  std::string repr() const;
  [[noreturn]] void throw_already_done() const;

 protected:
  virtual ~state_base();
  virtual void destroy() noexcept = 0;
  /// watches_abandon states (a gather, which holds its children while it waits for them):
  /// one reference is left. If the state is still pending, that is its own machinery's:
  /// nobody can ever read it, so it lets go of what it holds (a gather of a future nobody
  /// will complete would otherwise keep both alive for ever).
  virtual void on_abandoned() noexcept {}
  /// Interruptible states: asks the running producer to stop (it then completes the
  /// future, usually cancelled); false if it cannot be reached. Called outside the lock;
  /// may race with completion. `why` is the cancelled_error to end with (null: none).
  virtual bool interrupt(std::exception_ptr why) noexcept {
    (void)why;
    return false;
  }
  /// Records a cancellation request of a running producer: sets cancel_requested and keeps
  /// `why` as the message to end with. False if the state is no longer running.
  bool note_cancel_request(std::exception_ptr why) noexcept;
  bool cancel_requested() const noexcept {
    return word_.load(std::memory_order_acquire) & cancel_requested_bit;
  }
  /// The message of the pending cancellation request, read under the lock; empty if none.
  std::exception_ptr cancel_request_message() noexcept;

  /// Makes a state that follows another's loop (a gather of loop-bound futures)
  /// loop-bound; only before it is shared.
  void set_loop_bound() noexcept { traits_ |= loop_bound; }
  /// Asks for on_abandoned(); only before the state is shared.
  void watch_abandon() noexcept { traits_ |= watches_abandon; }

  /// release() of a watches_abandon state: tells it first if ours and its own are the only
  /// references left (ours keeps it alive meanwhile, whatever its machinery does).
  void release_watched() noexcept;

  /// Takes the lock if the state is still pending or running; returns the locked word in
  /// `w`. False if it is already done (nothing locked).
  bool try_lock_pending(std::uint32_t& w) noexcept {
    w = word_.load(std::memory_order_relaxed);
    for (backoff b;;) {
      if (is_done(w)) return false;
      if (!(w & locked_bit)) {
        if (word_.compare_exchange_weak(w, w | locked_bit, std::memory_order_acquire,
                                        std::memory_order_relaxed))
          return w |= locked_bit, true;
        continue;
      }
      b.pause();
      w = word_.load(std::memory_order_relaxed);
    }
  }
  /// Takes the lock whatever the status; returns the word as it was, lock bit set.
  std::uint32_t lock() noexcept;
  void unlock(std::uint32_t w) noexcept { word_.store(w & ~locked_bit, std::memory_order_release); }
  /// From locked pending/running to `final_status`: publishes, then runs the done list.
  void publish(std::uint32_t w, std::uint32_t final_status) noexcept {
    node* list = nullptr;
    if (w & has_nodes_bit) list = std::exchange(head_, nullptr), tail_ = nullptr;
    word_.store(final_status, std::memory_order_release);
    if (list) run_nodes(list);
  }
  /// The payload is being destroyed: reports an exception nobody retrieved, discards any
  /// node still listed (a future dropped pending).
  void on_destroy() noexcept;

  std::exception_ptr error_;  // error, or cancelled with a message

 private:
  void run_nodes(node* list) noexcept;
  /// Takes `n` out of the done list, then releases the lock taken as `w`.
  void unlink_and_unlock(node* n, std::uint32_t w) noexcept;

  std::atomic<std::uint32_t> word_;
  std::atomic<std::uint32_t> refs_;
  std::atomic<callback_id> next_id_{0};
  enum : std::uint8_t { retrieved = 1, taken = 2 };
  mutable std::atomic<std::uint8_t> flags_{0};
  std::uint8_t traits_;   // fixed before the state is shared
  node* head_ = nullptr;  // guarded by the lock bit
  node* tail_ = nullptr;
};

/// The what() of a cancelled_error (or any std::exception) in `e`; empty for none.
std::string cancel_message_of(std::exception_ptr const& e) noexcept;

/// How T is stored: void as an empty tag, references as pointers.
template <class T>
struct storage {
  using type = T;
  static T& get(type& v) noexcept { return v; }
};
template <class T>
struct storage<T&> {
  using type = T*;
  static T& get(type& v) noexcept { return *v; }
};
template <>
struct storage<void> {
  struct type {};
  static void get(type&) noexcept {}
};

template <class T>
using result_ref_t = std::conditional_t<std::is_void_v<T>, void, std::add_lvalue_reference_t<T>>;

/// The shared state of a future<T>. Not final: a loop-bound future, an Asio operation or a
/// gather extends it with what it needs, in the same allocation.
template <class T>
class state : public state_base {
  using stored = typename storage<T>::type;

 public:
  explicit state(std::uint8_t t = plain, std::uint32_t initial_status = pending,
                 std::uint32_t initial_refs = 1) noexcept
      : state_base(t, initial_status, initial_refs) {}

  /// Stores the value unless already done (false). May call from any thread.
  template <class... A>
  bool try_set_value(A&&... a) {
    std::uint32_t w;
    if (!try_lock_pending(w)) return false;
    try {
      if constexpr (std::is_reference_v<T>)
        ::new (static_cast<void*>(&value_)) stored(std::addressof(a)...);
      else
        ::new (static_cast<void*>(&value_)) stored(std::forward<A>(a)...);
    } catch (...) {
      unlock(w);
      throw;
    }
    publish(w, value);
    return true;
  }
  template <class... A>
  void set_value(A&&... a) {
    if (!try_set_value(std::forward<A>(a)...)) throw_already_done();
  }

  /// The value of a finished state, else rethrows its error or cancellation. A move-only
  /// value that a waiter took is gone: invalid_state_error.
  result_ref_t<T> get() {
    if (status() != value) rethrow_error();
    if constexpr (!copyable) {
      if (value_taken()) throw_value_taken();
    }
    return storage<T>::get(value_);
  }
  /// Moves a move-only value out, for the first waiter to ask; invalid_state_error for
  /// everyone after.
  T take() requires(!std::is_void_v<T> && !std::is_reference_v<T>) {
    if (status() != value) rethrow_error();
    if (!take_value()) throw_value_taken();
    return std::move(value_);
  }
  /// Whether waiters receive copies; otherwise the first one takes the value (take_value).
  static constexpr bool copyable =
      std::is_void_v<T> || std::is_reference_v<T> || std::is_copy_constructible_v<T>;

  static state* create() { return new state; }
  /// Created running, with the references of the future and of the producer.
  static state* create_started() { return new state(plain, running, 2); }

 protected:
  ~state() override {
    if (status() == value) value_.~stored();
  }

 protected:
  /// Frees the state with delete (its class's operator new); a state made with an
  /// allocator (allocated<>) frees itself with that instead.
  void destroy() noexcept override {
    on_destroy();
    delete this;
  }

 private:
  std::type_info const& value_type() const noexcept override { return typeid(T); }

  union {
    stored value_;
  };
};

/// The blocking, loop-independent part of reading a state: waits, then reads.
template <class T>
result_ref_t<T> wait_get(state<T>& s) {
  if (!s.done()) s.wait();
  return s.get();
}

}  // namespace detail
}  // namespace futura

#endif
