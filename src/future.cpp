// The non-template half of the shared state, and error reporting.
#include <futura/detail/shared_state.hpp>
#include <futura/errors.hpp>

#include <futura/detail/context_registry.hpp>
#include <futura/detail/large_block.hpp>
#include <futura/use_future.hpp>

#include <boost/asio/error.hpp>
#include <boost/core/demangle.hpp>
#include <boost/system/system_error.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <ostream>
#include <sstream>
#include <thread>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace futura {
namespace {

void default_handler(std::exception_ptr e, std::string_view what) noexcept {
  std::string line = "futura: ";
  line.append(what);
  if (e) {
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& x) {
      line.append(": ").append(boost::core::demangle(typeid(x).name())).append(": ");
      line.append(x.what());
    } catch (...) {
      line.append(": unknown exception");
    }
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);  // one write: lines never tear
}

std::atomic<callback_error_handler> g_handler{&default_handler};

}  // namespace

callback_error_handler set_callback_error_handler(callback_error_handler h) noexcept {
  auto old = g_handler.exchange(h ? h : &default_handler);
  return old == &default_handler ? nullptr : old;
}

namespace detail {

void report_error(std::exception_ptr e, std::string_view what) noexcept {
  try {
    g_handler.load()(std::move(e), what);
  } catch (...) {
    // A handler that throws has nowhere left to report to.
  }
}

void report_callback_error(state_base& s) noexcept {
  auto e = std::current_exception();
  try {
    report_error(e, "exception calling callback for " + s.repr());
  } catch (...) {  // std::bad_alloc building the line
    report_error(e, "exception calling callback");
  }
}

void throw_wrong_type(state_base const& s, std::type_info const& wanted) {
  throw invalid_state_error("future<>::as<" + boost::core::demangle(wanted.name()) +
                            ">() on a future of " + boost::core::demangle(s.value_type().name()));
}

bool is_operation_aborted(std::exception_ptr const& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (boost::system::system_error const& x) {
    return x.code() == boost::asio::error::operation_aborted;
  } catch (cancelled_error const&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::string cancel_message_of(std::exception_ptr const& e) noexcept {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& x) {
    try {
      return x.what();
    } catch (...) {  // bad_alloc: cancel without the message
    }
  } catch (...) {
  }
  return {};
}

void backoff::pause() noexcept {
  if (++n < 64) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  } else {
    std::this_thread::yield();
  }
}

state_base::~state_base() = default;

future_state state_base::public_state() const noexcept {
  switch (status()) {
    case pending:
      return future_state::pending;
    case running:
      return future_state::running;
    case cancelled:
      return future_state::cancelled;
    default:
      return future_state::finished;
  }
}

std::uint32_t state_base::lock() noexcept {
  auto w = word_.load(std::memory_order_relaxed);
  for (backoff b;;) {
    if (!(w & locked_bit)) {
      if (word_.compare_exchange_weak(w, w | locked_bit, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return w | locked_bit;
      continue;
    }
    b.pause();
    w = word_.load(std::memory_order_relaxed);
  }
}

void state_base::run_nodes(node* list) noexcept {
  // Urgent nodes first, in order; the others are relinked into `rest`, in order. A node
  // may free itself when it runs: read its link first.
  node* rest = nullptr;
  node** tail = &rest;
  for (node* n = list; n;) {
    node* const next = n->next;
    if (n->urgent) {
      n->complete(n, this);
    } else {
      *tail = n;
      tail = &n->next;
    }
    n = next;
  }
  *tail = nullptr;
  for (node* n = rest; n;) {
    node* const next = n->next;
    n->complete(n, this);
    n = next;
  }
}

bool state_base::cancel(std::string_view msg) {
  auto const s = status();
  if (s == cancelled) return true;
  if (s == error) mark_retrieved();  // asyncio: no "never retrieved" after cancel()
  if (is_done(s)) return false;
  if (s == running && !(traits_ & interruptible)) return false;  // a running pool task
  // Build the message outside the lock: it allocates.
  std::exception_ptr why =
      msg.empty() ? nullptr : std::make_exception_ptr(cancelled_error(std::string(msg)));
  std::uint32_t w;
  if (!try_lock_pending(w)) return status() == cancelled;
  if ((w & status_mask) == pending) {
    error_ = std::move(why);
    publish(w, cancelled);
    return true;
  }
  unlock(w);  // running: only its producer can complete it
  if (!(traits_ & interruptible)) return false;
  // The producer completes the future: cancelled, or with what it had by then.
  return interrupt(std::move(why)) || status() == cancelled;
}

bool state_base::note_cancel_request(std::exception_ptr why) noexcept {
  std::uint32_t w;
  if (!try_lock_pending(w)) return false;
  if ((w & status_mask) != running) {
    unlock(w);
    return false;
  }
  if (why) error_ = std::move(why);  // the latest message wins, as for Task.cancel(msg)
  unlock(w | cancel_requested_bit);
  return true;
}

std::exception_ptr state_base::cancel_request_message() noexcept {
  std::uint32_t const w = lock();
  std::exception_ptr e = (w & cancel_requested_bit) && !is_done(w) ? error_ : nullptr;
  unlock(w);
  return e;
}

bool state_base::try_fail_or_cancel(std::exception_ptr e) {
  if (!e) throw std::invalid_argument("set_exception: null exception_ptr");
  std::uint32_t w;
  if (!try_lock_pending(w)) return false;
  if (w & cancel_requested_bit) {
    publish(w, cancelled);  // error_ holds the cancel message, if any
  } else {
    error_ = std::move(e);
    publish(w, error);
  }
  return true;
}

void state_base::throw_value_taken() {
  throw invalid_state_error(
      "the future's move-only value was already taken by a co_await or async_wait");
}

bool state_base::try_set_cancelled(std::exception_ptr thrown) noexcept {
  // Only a cancelled_error may stand for the cancellation (rethrow_error rethrows it);
  // checked outside the lock, it rethrows.
  bool const keep =
      thrown && !(word_.load(std::memory_order_relaxed) & cancel_requested_bit) && [&] {
        try {
          std::rethrow_exception(thrown);
        } catch (cancelled_error const&) {
          return true;
        } catch (...) {
          return false;
        }
      }();
  std::uint32_t w;
  if (!try_lock_pending(w)) return false;
  if (keep && !(w & cancel_requested_bit)) error_ = std::move(thrown);
  publish(w, cancelled);
  return true;
}

void state_base::post_node(bound_node* n, state_base& owner) noexcept {
  // Not loop-bound: never called. Run it here rather than lose it.
  try {
    n->run_posted(n, &owner);
  } catch (...) {
    report_error(std::current_exception(), "exception in a handler run in place");
  }
}

bool state_base::set_running_or_notify_cancel() {
  auto const w = lock();
  switch (w & status_mask) {
    case pending:
      unlock((w & ~status_mask) | running);
      return true;
    case cancelled:
      unlock(w);
      return false;
    default:
      unlock(w);
      break;
  }
  throw invalid_state_error("Future in unexpected state: " + repr());
}

bool state_base::try_start() noexcept {
  auto const w = lock();
  bool const ok = (w & status_mask) == pending;
  unlock(ok ? (w & ~status_mask) | running : w);
  return ok;
}

bool state_base::try_set_exception(std::exception_ptr e) {
  if (!e) throw std::invalid_argument("set_exception: null exception_ptr");
  std::uint32_t w;
  if (!try_lock_pending(w)) return false;
  error_ = std::move(e);
  publish(w, error);
  return true;
}

void state_base::set_exception(std::exception_ptr e) {
  if (!try_set_exception(std::move(e))) throw_already_done();
}

void state_base::abandon() noexcept {
  if (done()) return;
  // The caller is the last handle and nothing waits: nobody could ever observe the loss.
  if (refs_.load(std::memory_order_acquire) == 1 &&
      !(word_.load(std::memory_order_acquire) & has_nodes_bit))
    return;
  try {
    try_set_exception(std::make_exception_ptr(broken_promise()));
  } catch (...) {  // bad_alloc: still never leave a waiter hanging
    std::uint32_t w;
    if (try_lock_pending(w)) publish(w, cancelled);
  }
}

namespace {
/// A thread blocked in result()/wait(): a node on its own stack.
struct blocked_thread final : node {
  blocked_thread() {
    complete = &wake;
    urgent = true;
  }
  static void wake(node* n, state_base*) noexcept {
    auto* self = static_cast<blocked_thread*>(n);
    std::lock_guard lk(self->m);  // notify under the lock: the waiter may return at once
    self->woken = true;
    self->cv.notify_one();
  }
  std::mutex m;
  std::condition_variable cv;
  bool woken = false;
};

/// Most waits on a pool future end within a few microseconds: look a few times before
/// parking, which costs two syscalls.
bool spin_until_done(state_base const& s) noexcept {
  for (int i = 0; i < 128; ++i) {
    if (s.done()) return true;
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }
  return s.done();
}
}  // namespace

void state_base::wait() const {
  wait_until(std::chrono::steady_clock::time_point::max());
}

bool state_base::wait_until(std::chrono::steady_clock::time_point deadline) const {
  if (spin_until_done(*this)) return true;
  if (deadline <= std::chrono::steady_clock::now()) return false;
  auto& self = const_cast<state_base&>(*this);
  blocked_thread b;
  if (!self.add_node(&b)) return true;  // completed meanwhile: b ran already
  std::unique_lock lk(b.m);
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    b.cv.wait(lk, [&] { return b.woken; });
    return true;
  }
  if (b.cv.wait_until(lk, deadline, [&] { return b.woken; })) return true;
  lk.unlock();
  if (self.remove_node(&b)) return false;
  // Completion detached b before we could: it will wake us, and b must outlive that.
  lk.lock();
  b.cv.wait(lk, [&] { return b.woken; });
  return true;
}

bool state_base::add_node(node* n) {
  std::uint32_t w;
  if (!try_lock_pending(w)) {
    n->complete(n, this);
    return false;
  }
  n->next = nullptr;
  n->prev = tail_;
  if (tail_)
    tail_->next = n;
  else
    head_ = n;
  tail_ = n;
  unlock(w | has_nodes_bit);
  return true;
}

void state_base::unlink_and_unlock(node* n, std::uint32_t w) noexcept {
  (n->prev ? n->prev->next : head_) = n->next;
  (n->next ? n->next->prev : tail_) = n->prev;
  unlock(head_ ? w : w & ~has_nodes_bit);
}

bool state_base::remove_node(node* n) {
  std::uint32_t w;
  if (!try_lock_pending(w)) return false;
  unlink_and_unlock(n, w);
  return true;
}

void state_base::release_watched() noexcept {
  if (refs_.load(std::memory_order_acquire) == 2) on_abandoned();
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
}

bool state_base::only_node_is(node const* n) noexcept {
  std::uint32_t w;
  if (!try_lock_pending(w)) return false;
  bool const only = head_ == n && tail_ == n;
  unlock(w);
  return only;
}

std::size_t state_base::remove_callback(callback_id id) {
  if (id == 0) return 0;  // ids start at 1; 0 marks waiters, which are not callbacks
  std::uint32_t w;
  if (!try_lock_pending(w)) return 0;
  node* n = head_;
  while (n && n->id != id) n = n->next;
  if (!n) {
    unlock(w);
    return 0;
  }
  unlink_and_unlock(n, w);
  n->complete(n, nullptr);  // frees it, unrun
  return 1;
}

void state_base::rethrow_error() const {
  if (status() == cancelled) {
    if (error_) std::rethrow_exception(error_);
    throw cancelled_error();
  }
  mark_retrieved();
  std::rethrow_exception(error_);
}

std::exception_ptr state_base::exception_or_null() const {
  if (status() == cancelled) rethrow_error();
  return outcome_exception();
}

std::exception_ptr state_base::outcome_exception() const noexcept {
  switch (status()) {
    case value:
      return nullptr;
    case error:
      mark_retrieved();
      return error_;
    default:
      if (error_) return error_;
      try {
        return std::make_exception_ptr(cancelled_error());
      } catch (...) {
        return std::current_exception();  // bad_alloc
      }
  }
}

void state_base::write_repr(std::ostream& os) const {
  os << "<Future at " << static_cast<void const*>(this) << " state=";
  switch (status()) {
    case pending:
      os << "pending";
      break;
    case running:
      os << "running";
      break;
    case cancelled:
      os << "cancelled";
      break;
    case value:
      os << "finished returned " << boost::core::demangle(value_type().name());
      break;
    default:
      os << "finished raised ";
      try {
        std::rethrow_exception(error_);
      } catch (std::exception const& e) {
        os << boost::core::demangle(typeid(e).name());
      } catch (...) {
        os << "unknown exception";
      }
  }
  os << '>';
}

std::string state_base::repr() const {
  std::ostringstream os;
  write_repr(os);
  return std::move(os).str();
}

void state_base::throw_already_done() const {
  char const* const name = status() == cancelled ? "CANCELLED: " : "FINISHED: ";
  throw invalid_state_error(name + repr());
}

void state_base::on_destroy() noexcept {
  if (status() == error && !(flags_.load(std::memory_order_relaxed) & retrieved)) {
    try {
      report_error(error_, "Future exception was never retrieved: " + repr());
    } catch (...) {
      report_error(error_, "Future exception was never retrieved");
    }
  }
  node* n = head_;  // a future dropped while pending: discard what waits on it
  while (n) {
    node* const next = n->next;
    n->complete(n, nullptr);
    n = next;
  }
}

namespace {

/// Owns the registry of one execution context and closes it when the context shuts down.
class context_registry_service final
    : public boost::asio::detail::execution_context_service_base<context_registry_service> {
 public:
  explicit context_registry_service(boost::asio::execution_context& ctx)
      : execution_context_service_base<context_registry_service>(ctx),
        registry_(new context_registry) {}
  ~context_registry_service() override { registry_->release(); }
  void shutdown() override { registry_->shutdown(); }
  context_registry* registry() const noexcept { return registry_; }

 private:
  context_registry* registry_;
};

/// The last registry this thread looked up: Asio's use_service takes a mutex and walks a
/// list, and most threads only ever use one context. A cached registry is valid while it
/// is open: a context is only freed after its registry closed, so an open registry found
/// for an address is that context's.
struct registry_cache {
  boost::asio::execution_context const* ctx = nullptr;
  context_registry* registry = nullptr;  // a reference
  ~registry_cache() {
    if (registry) registry->release();
  }
};
thread_local registry_cache t_registry_cache;

}  // namespace

context_registry& context_registry::of(boost::asio::execution_context& ctx) {
  auto& c = t_registry_cache;
  if (c.ctx == &ctx && c.registry && !c.registry->closed()) return *c.registry;
  auto* r = boost::asio::use_service<context_registry_service>(ctx).registry();
  r->add_ref();
  if (c.registry) c.registry->release();
  c.ctx = &ctx;
  c.registry = r;
  return *r;
}

context_registry::publishing context_registry::enter(bound_node* n, state_base& s) {
  std::lock_guard lk(m_);
  if (closed_.load(std::memory_order_relaxed)) throw invalid_state_error("Event loop is closed");
  publishing published(count_in_locked());  // shutdown now waits for the node to reach s
  s.add_ref();
  n->registry = this;
  n->listed_state = &s;
  n->reg_prev = nullptr;
  n->reg_next = head_;
  if (head_) head_->reg_prev = n;
  head_ = n;
  return published;
}

void context_registry::unlink(bound_node* n) noexcept {
  (n->reg_prev ? n->reg_prev->reg_next : head_) = n->reg_next;
  if (n->reg_next) n->reg_next->reg_prev = n->reg_prev;
}

void context_registry::handed_to_shutdown(bound_node* n) noexcept {
  n->completed_in_shutdown = true;
  cv_.notify_all();
}

void context_registry::hold(executor_holder* h) noexcept {
  std::lock_guard lk(m_);
  if (closed_.load(std::memory_order_relaxed)) return h->release_executor(h);
  h->eh_prev = nullptr;
  h->eh_next = holders_;
  if (holders_) holders_->eh_prev = h;
  holders_ = h;
}

void context_registry::unhold(executor_holder* h) noexcept {
  std::lock_guard lk(m_);
  if (holders_released_) return;  // released and unlisted already
  (h->eh_prev ? h->eh_prev->eh_next : holders_) = h->eh_next;
  if (h->eh_next) h->eh_next->eh_prev = h->eh_prev;
}

void context_registry::shutdown() {
  bound_node* taken;
  {
    std::unique_lock lk(m_);
    closed_.store(true, std::memory_order_seq_cst);
    // Posts and while_open() calls under way finish first.
    cv_.wait(lk, [this] { return in_use_.load(std::memory_order_seq_cst) == 0; });
    taken = std::exchange(head_, nullptr);
    holders_released_ = true;
    for (auto* h = std::exchange(holders_, nullptr); h;) {
      auto* const next = h->eh_next;
      h->release_executor(h);
      h = next;
    }
  }
  // Off its future, a node is ours to destroy. One its future is completing right now
  // (or that is being removed from it) is handed over by that thread (leave_and); wait
  // for that, then destroy it. Destroying a node may complete other futures, whose
  // nodes find the registry closed and are handed over the same way.
  bound_node* racing = nullptr;
  while (taken) {
    bound_node* const n = taken;
    taken = n->reg_next;
    state_base* const s = n->listed_state;
    if (s->remove_node(n)) {
      n->drop(n);
      s->release();
    } else {
      n->reg_next = racing;
      racing = n;
    }
  }
  while (racing) {
    bound_node* const n = racing;
    racing = n->reg_next;
    {
      std::unique_lock lk(m_);
      cv_.wait(lk, [n] { return n->completed_in_shutdown; });
    }
    state_base* const s = n->listed_state;
    n->drop(n);
    s->release();
  }
}

// ---------------------------------------------------------------------------------------
// Large per-call blocks (large_block.hpp): a few kept per thread.

namespace {
struct alignas(std::max_align_t) block_header {
  std::size_t size;  // usable bytes after the header
};

/// An as_completed over a million futures holds four blocks at once (the futures, the
/// indices done at the call, the duplicate check, the watch nodes): keep as many, so a
/// second call faults none back in.
struct kept_blocks {
  static constexpr int slots = 4;
  block_header* block[slots] = {};
  std::size_t bytes = 0;  // kept in all, at most large_block_max_kept
  bool dead = false;      // destroyed at thread exit: later frees go straight back
  kept_blocks() = default;
  kept_blocks(kept_blocks const&) = delete;
  kept_blocks& operator=(kept_blocks const&) = delete;
  ~kept_blocks() {
    release();
    dead = true;
  }
  void release() noexcept {
    for (auto*& b : block) ::operator delete(std::exchange(b, nullptr));
    bytes = 0;
  }
  /// Keeps `b` if the bound allows, after letting go of smaller kept blocks if it must:
  /// the larger the block, the more a later call saves. False: not kept.
  bool keep(block_header* b) noexcept {
    if (dead || b->size < large_block_min || b->size > large_block_max_kept) return false;
    for (;;) {
      int empty = -1, smallest = -1;
      for (int i = 0; i < slots; ++i) {
        if (!block[i]) {
          if (empty < 0) empty = i;
        } else if (smallest < 0 || block[i]->size < block[smallest]->size) {
          smallest = i;
        }
      }
      if (empty >= 0 && bytes + b->size <= large_block_max_kept) {
        block[empty] = b;
        bytes += b->size;
        return true;
      }
      if (smallest < 0 || block[smallest]->size >= b->size) return false;
      bytes -= block[smallest]->size;
      ::operator delete(std::exchange(block[smallest], nullptr));
    }
  }
  /// The smallest kept block that holds `size` bytes and is not wastefully big (at most
  /// twice that), taken out; null if none.
  block_header* take(std::size_t size) noexcept {
    if (dead) return nullptr;
    int best = -1;
    for (int i = 0; i < slots; ++i)
      if (auto* b = block[i];
          b && b->size >= size && b->size / 2 <= size && (best < 0 || b->size < block[best]->size))
        best = i;
    if (best < 0) return nullptr;
    bytes -= block[best]->size;
    return std::exchange(block[best], nullptr);
  }
};
thread_local kept_blocks t_kept;
}  // namespace

std::size_t large_block_bytes_kept() noexcept {
  return t_kept.bytes;
}

void release_kept_large_blocks() noexcept {
  t_kept.release();
}

void* allocate_large(std::size_t bytes) {
  // A kept block if one fits; else a fresh one (the kept ones stay for a later call).
  if (bytes >= large_block_min)
    if (auto* b = t_kept.take(bytes)) return b + 1;
  auto* b = static_cast<block_header*>(::operator new(sizeof(block_header) + bytes));
  b->size = bytes;
  return b + 1;
}

void deallocate_large(void* p) noexcept {
  if (!p) return;
  auto* b = static_cast<block_header*>(p) - 1;
  if (!t_kept.keep(b)) ::operator delete(b);
}

}  // namespace detail
}  // namespace futura
