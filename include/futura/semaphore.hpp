// futura/semaphore.hpp: asyncio.Semaphore, for coroutines and threads alike.
#ifndef FUTURA_SEMAPHORE_HPP
#define FUTURA_SEMAPHORE_HPP

#include <futura/future.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace futura {

/// Bounds how many holders run at once (asyncio.Semaphore). acquire() returns a future
/// that completes when a unit is granted: `co_await sem.acquire()` in a coroutine,
/// `sem.acquire().result()` or `sem.acquire_for(timeout)` in a thread. Waiters are served
/// first come, first served. A waiter that gives up never takes a unit: one whose future
/// is cancelled (its coroutine cancelled while waiting) or dropped by everyone gives its
/// turn to the next. A timed blocking wait should use acquire_for(), which settles the race
/// between its deadline and a release(); `acquire().result(timeout)` that times out leaves
/// its future in line until it is dropped. Thread-safe.
///
/// \code
/// futura::semaphore limit(10);                  // at most 10 downloads at once
/// auto held = co_await limit.acquire_scoped();  // released on scope exit
/// co_await download(url);
/// \endcode
class semaphore {
 public:
  class releaser;

  /// Throws std::invalid_argument if `initial` is negative (Python's ValueError).
  explicit semaphore(std::ptrdiff_t initial = 1) {
    if (initial < 0) throw std::invalid_argument("Semaphore initial value must be >= 0");
    count_ = static_cast<std::size_t>(initial);
  }
  semaphore(semaphore const&) = delete;
  semaphore& operator=(semaphore const&) = delete;

  /// A finished future if a unit is free and nobody waits; else a pending one, completed
  /// by a later release().
  future<void> acquire() {
    std::lock_guard lk(m_);
    if (count_ > 0 && waiters_.empty()) {
      --count_;
      auto f = create_future<void>();
      f.set_result();
      return f;
    }
    return waiters_.emplace_back(create_future<void>());
  }

  /// acquire() with the unit in a releaser (asyncio's `async with sem`): the unit goes back
  /// when the releaser is destroyed, so a forgotten release() cannot leak it. Cancelling
  /// the future (or the coroutine awaiting it) gives up the turn; a unit granted to a future
  /// nobody reads goes back when the future is dropped. acquire() stays the two-statement
  /// form (a releaser from acquire() itself would release twice there).
  ///
  /// \code
  /// auto held = co_await limit.acquire_scoped();   // a semaphore::releaser
  /// co_await download(url);                        // released at the end of the scope
  /// \endcode
  future<releaser> acquire_scoped();

  /// Waits at most `timeout` for a unit; true if it was granted (release() it later).
  template <class Rep, class Period>
  bool acquire_for(std::chrono::duration<Rep, Period> timeout) {
    auto f = acquire();
    if (f.wait_for(timeout)) return true;
    return !f.cancel();  // false: granted just now, as the deadline passed: it is ours
  }

  /// Takes a unit only if one is free now (no waiting).
  bool try_acquire() {
    std::lock_guard lk(m_);
    if (count_ == 0 || !waiters_.empty()) return false;
    --count_;
    return true;
  }

  /// Gives a unit back: to the first waiter still waiting, else to the pool of free units.
  void release() {
    for (;;) {
      future<void> next;
      {
        std::lock_guard lk(m_);
        if (waiters_.empty()) {
          ++count_;
          return;
        }
        next = std::move(waiters_.front());
        waiters_.pop_front();
      }
      // Outside the lock: completing runs the waiter's callbacks, which may release().
      // A waiter nobody holds any more (a blocking acquire that timed out and dropped its
      // future) could never use the unit; a cancelled one gave up.
      auto* s = detail::state_of(next);
      if (!s->sole_reference() && s->try_set_value()) return;
    }
  }

  /// Whether acquire() would have to wait (asyncio's locked()).
  bool locked() const {
    std::lock_guard lk(m_);
    return count_ == 0;
  }

  /// Releases on destruction, unless dismissed.
  class releaser {
   public:
    /// Takes charge of one unit already acquired from `s`.
    explicit releaser(semaphore& s) noexcept : s_(&s) {}
    /// Takes over `o`'s unit; `o` releases nothing.
    releaser(releaser&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    releaser& operator=(releaser&&) = delete;
    /// Releases the unit, unless dismissed.
    ~releaser() {
      if (s_) s_->release();
    }
    /// Keeps the unit: the destructor will not release it (the caller releases it).
    void dismiss() noexcept { s_ = nullptr; }

   private:
    semaphore* s_;
  };

 private:
  mutable std::mutex m_;
  std::size_t count_ = 0;
  std::deque<future<void>> waiters_;
};

inline future<semaphore::releaser> semaphore::acquire_scoped() {
  return acquire().then([this] { return releaser(*this); });
}

}  // namespace futura

#endif
