// futura/detail/submit_log.hpp: what a thread pool has queued and no worker has taken,
// recorded without a lock or a shared cache line per task.
//
// shutdown(cancel_futures) must cancel the queued futures at once (Python drains its
// queue there), and a failed initializer must fail them at once, but Asio's queue cannot
// be walked. So each submitting thread keeps, per pool, a log of the states it queued: an
// entry is written by that thread alone and cleared by the worker that dequeues the task,
// so the only cache line a task moves between threads is its own entry's, which travels
// with the task anyway. Shutdown walks the logs.
#ifndef FUTURA_DETAIL_SUBMIT_LOG_HPP
#define FUTURA_DETAIL_SUBMIT_LOG_HPP

#include <futura/detail/shared_state.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace futura::detail {

/// One submitting thread's log of the tasks it queued on one pool. An entry holds the
/// task's state from submit until a worker takes the task (or it is destroyed unrun):
///   null      free, for the owner to reuse;
///   a state   queued;
///   claimed   a walker (shutdown, a failed initializer) is taking a reference to it.
/// Entries live in chunks that are never freed while the log lives, so a task's pointer to
/// its entry stays valid; the owner reuses free entries round-robin, and adds a chunk only
/// when a whole chunk's worth of entries is still queued.
class submit_log {
 public:
  struct entry {
    std::atomic<state_base*> state{nullptr};
    std::uint64_t seq = 0;  // submission order within the log; read only after a claim
  };

  submit_log() : first_(new chunk), at_(first_) { first_->next.store(first_); }
  submit_log(submit_log const&) = delete;
  submit_log& operator=(submit_log const&) = delete;
  ~submit_log();

  /// Owner only: records `s` as queued; returns its entry.
  entry* add(state_base* s) {
    entry* e = free_entry();
    e->seq = next_seq_++;
    e->state.store(s, std::memory_order_release);
    return e;
  }

  /// The task of `s` is taken (by a worker) or destroyed unrun: frees its entry, unless a
  /// walker took it already (then the walker holds its own reference to `s`, and the entry
  /// may even hold another task by now).
  static void take(entry* e, state_base* s) noexcept {
    for (backoff b;;) {
      state_base* seen = s;
      if (e->state.compare_exchange_weak(seen, nullptr, std::memory_order_acq_rel,
                                         std::memory_order_acquire))
        return;
      if (seen == claimed())
        b.pause();  // a walker is taking a reference to it (or to a later task): wait
      else if (seen != s)
        return;  // a walker took it
    }
  }

  /// Appends each queued state of the log to `out` with a new reference, and its sequence
  /// number; frees its entry, so that the worker that dequeues the task leaves it alone.
  /// Safe against the owner and the workers running meanwhile.
  void take_all(std::vector<std::pair<std::uint64_t, state_base*>>& out);

  /// Total submit()s through this log: written by the owner, read by shutdown once the
  /// owner is out of submit().
  std::atomic<std::uint64_t> submitted{0};
  /// Set by the owner while inside submit(), so that shutdown can wait for it to finish.
  std::atomic<bool> active{false};
  /// Whether a live thread owns the log; a log whose thread ended is adopted by the next
  /// thread that needs one (threads come and go; logs stay few).
  std::atomic<bool> owned{true};

 private:
  static constexpr std::size_t chunk_size = 128;
  struct chunk {
    entry entries[chunk_size];
    std::atomic<chunk*> next{nullptr};  // a ring: the last points back to the first
  };
  static state_base* claimed() noexcept {
    return reinterpret_cast<state_base*>(alignof(state_base));  // never a state's address
  }

  entry* free_entry() {
    // Round-robin from where the last one was taken: the oldest entries are the likeliest
    // to be free again (the pool runs tasks in order). At most one chunk is scanned.
    for (std::size_t n = 0; n < chunk_size; ++n) {
      entry* e = &at_->entries[index_];
      if (++index_ == chunk_size) index_ = 0, at_ = at_->next.load(std::memory_order_relaxed);
      if (e->state.load(std::memory_order_acquire) == nullptr) return e;
    }
    // A chunk's worth still queued: grow, after the current chunk.
    auto* c = new chunk;
    c->next.store(at_->next.load(std::memory_order_relaxed), std::memory_order_relaxed);
    at_->next.store(c, std::memory_order_release);
    at_ = c;
    index_ = 1;
    return &c->entries[0];
  }

  chunk* first_;
  chunk* at_;  // owner only: where free_entry() looks next
  std::size_t index_ = 0;
  std::uint64_t next_seq_ = 0;
};

}  // namespace futura::detail

#endif
