// futura/as_completed.hpp: concurrent.futures.as_completed for every future.
#ifndef FUTURA_AS_COMPLETED_HPP
#define FUTURA_AS_COMPLETED_HPP

#include <futura/detail/completion_queue.hpp>
#include <futura/detail/future_range.hpp>
#include <futura/errors.hpp>
#include <futura/future.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

namespace futura {

/// The futures of an as_completed() call, as they complete: an input range (iterate it
/// once). Move-only. It holds each future only until it has been passed: `++` lets go of
/// the current one. Destroying it early unhooks it from every future it still watches,
/// and completes a pending async_next with cancelled_error. Like an Asio I/O object it is
/// used from one thread at a time: with an async_next pending, destroy it where that
/// operation's handler runs (its executor, or its strand).
template <class T>
class as_completed_range {
  struct impl : std::enable_shared_from_this<impl> {
    /// Takes the distinct futures of `fs` (sized: see as_sized) in one pass, which also
    /// snapshots them: what is done now comes first, in input order, even if a pending one
    /// completes while we are still hooking onto the others. If an empty handle throws,
    /// the queue (a later member) unhooks before the futures it watches are let go.
    template <class R>
    impl(R&& fs, std::chrono::steady_clock::time_point deadline)
        : queue(static_cast<std::size_t>(std::ranges::size(fs))), deadline(deadline) {
      ready_now.reserve(std::ranges::size(fs));  // no copying as it grows
      detail::distinct_futures_into<T>(futures, std::forward<R>(fs), "as_completed",
                                       [this](future<T> const& f, std::size_t i) {
                                         auto& s = *detail::state_of(f);
                                         if (s.done()) {
                                           ready_now.push_back(i);
                                         } else {
                                           loops.add(s);
                                           queue.watch(s, i);
                                         }
                                       });
    }

    /// Makes `current` the next future, blocking until the deadline.
    void fetch() {
      if (current.valid()) return;
      std::size_t i;
      if (next_ready < ready_now.size()) {
        // `++` lets go of each in turn: over a million, ask for the state a few ahead.
        if (auto const j = next_ready + 8; j < ready_now.size())
          __builtin_prefetch(detail::state_of(futures[ready_now[j]]), 1);
        i = ready_now[next_ready++];
      } else {
        auto* n = queue.try_next();
        if (!n && !loops.empty())
          loops.check(
              "as_completed: blocking on the thread running the loop of its futures",
              [&](detail::context_registry* loop) {
                for (auto const& f : futures)
                  if (f.valid() && !f.done() && detail::state_of(f)->loop_registry() == loop)
                    return true;
                return false;
              });
        if (!n) n = queue.next(deadline);
        if (!n) throw timed_out();
        i = n->tag;
      }
      take(i);
    }
    /// As fetch(), without waiting: false if nothing is done yet.
    bool try_fetch() noexcept {
      if (current.valid()) return true;
      if (next_ready < ready_now.size()) return take(ready_now[next_ready++]), true;
      if (auto* n = queue.try_next()) return take(n->tag), true;
      return false;
    }
    void take(std::size_t i) noexcept {
      current = std::move(futures[i]);  // the range keeps no other reference to it
      ++fetched;
    }
    bool at_end() const noexcept { return fetched == futures.size() && !current.valid(); }
    timeout_error timed_out() const {
      return timeout_error(std::to_string(futures.size() - fetched) + " (of " +
                           std::to_string(futures.size()) + ") futures unfinished");
    }

    /// One step of async_next: completes `h` now if it can, else arms the doorbell (and a
    /// timer that rings it at the deadline) and runs again on `h`'s executor when it rings.
    /// The wait on the bell carries `h`'s cancellation slot: emitting it cancels the bell,
    /// and `h` gets cancelled_error; the range stays usable. The continuation holds the
    /// impl, so a range destroyed meanwhile (closed) is still there to say so.
    template <class Handler>
    void next_async(Handler&& h) {
      auto ex = boost::asio::get_associated_executor(h);
      std::exception_ptr e;
      std::optional<future<T>> r;
      current = {};  // what async_next delivered is the caller's alone
      if (closed) {
        e = std::make_exception_ptr(cancelled_error("as_completed: the range was destroyed"));
      } else if (at_end()) {
      } else if (try_fetch()) {
        r.emplace(std::move(current));
        current = {};
      } else if (deadline != std::chrono::steady_clock::time_point::max() &&
                 std::chrono::steady_clock::now() >= deadline) {
        e = std::make_exception_ptr(timed_out());
      } else {
        auto bell = queue.arm();
        std::shared_ptr<boost::asio::steady_timer> timer;
        if (deadline != std::chrono::steady_clock::time_point::max()) {
          timer = std::make_shared<boost::asio::steady_timer>(ex, deadline);
          timer->async_wait([bell](boost::system::error_code ec) {
            if (!ec) static_cast<detail::state<void>*>(detail::state_of(bell))->try_set_value();
          });
        }
        auto slot = boost::asio::get_associated_cancellation_slot(h);
        bell.async_wait(boost::asio::bind_cancellation_slot(
            slot,
            boost::asio::bind_executor(ex, [self = this->shared_from_this(), timer,
                                            h = std::move(h)](std::exception_ptr rang) mutable {
              if (timer) timer->cancel();
              if (rang || self->closed)  // async_next cancelled, or the range destroyed
                std::move(h)(rang ? rang
                                  : std::make_exception_ptr(
                                        cancelled_error("as_completed: the range was destroyed")),
                             std::optional<future<T>>());
              else
                self->next_async(std::move(h));
            })));
        return;
      }
      boost::asio::post(
          ex, [h = std::move(h), e, r = std::move(r)]() mutable { std::move(h)(e, std::move(r)); });
    }

    /// The range is destroyed: stop watching (an armed bell is cancelled, which ends a
    /// pending async_next), and let go of the futures not handed out.
    void close() noexcept {
      closed = true;
      queue.detach();
    }

    // Destroyed in reverse: the queue unhooks while the futures are still alive.
    detail::future_vector<T> futures;  // distinct; emptied as they are fetched
    std::vector<std::size_t, detail::large_allocator<std::size_t>>
        ready_now;  // done at the call, input order
    detail::completion_queue queue;
    std::chrono::steady_clock::time_point deadline;
    std::size_t next_ready = 0;
    std::size_t fetched = 0;
    future<T> current;
    detail::loop_guard loops;  // for the deadlock guard of blocking iteration
    bool closed = false;
  };

 public:
  /// Blocks in `*` and `++` for the next future; throws timeout_error("N (of M) futures
  /// unfinished") if none is done by the deadline.
  class iterator {
   public:
    /// One pass only: each future is yielded once.
    using iterator_category = std::input_iterator_tag;
    /// A signed distance, as iterators need.
    using difference_type = std::ptrdiff_t;
    /// A done future of the range.
    using value_type = future<T>;
    /// What `*` gives: the range's handle, valid until `++`.
    using reference = future<T> const&;

    /// A singular iterator (only assignable).
    iterator() = default;
    /// The next done future, blocking until one is (timeout_error past the deadline);
    /// again the same one until `++`.
    reference operator*() const {
      p_->fetch();
      return p_->current;
    }
    /// Moves past the current future (waiting for it first if `*` was not used: skipping
    /// one still consumes one), letting go of the range's handle to it.
    iterator& operator++() {
      p_->fetch();  // skipping one still consumes one
      p_->current = {};
      return *this;
    }
    /// As `++it`.
    void operator++(int) { ++*this; }
    /// True once every future has been yielded and passed.
    friend bool operator==(iterator const& it, std::default_sentinel_t) noexcept {
      return it.p_->at_end();
    }

   private:
    friend as_completed_range;
    explicit iterator(impl* p) noexcept : p_(p) {}
    impl* p_ = nullptr;
  };

  /// What as_completed() returns: watches the distinct futures of `fs` until `deadline`
  /// (steady_clock::time_point::max(): none).
  template <detail::future_range R>
  as_completed_range(R&& fs, std::chrono::steady_clock::time_point deadline) {
    auto&& sized = detail::as_sized<T>(std::forward<R>(fs));
    p_ = std::make_shared<impl>(std::forward<decltype(sized)>(sized), deadline);
  }
  /// Takes over `o`'s futures; `o` must then only be destroyed or assigned to.
  as_completed_range(as_completed_range&&) noexcept = default;
  /// Ends this range as its destructor does, then takes over `o`'s futures.
  as_completed_range& operator=(as_completed_range&& o) noexcept {
    if (this != &o) {
      if (p_) p_->close();
      p_ = std::move(o.p_);
    }
    return *this;
  }
  /// Unhooks from the futures it still watches and completes a pending async_next with
  /// cancelled_error. The futures are not cancelled.
  ~as_completed_range() {
    if (p_) p_->close();
  }

  /// A new loop starts after the last future handed out (a loop that broke out on a
  /// future does not get it again): each future is yielded once.
  iterator begin() noexcept {
    p_->current = {};
    return iterator(p_.get());
  }
  /// The end: compare an iterator with it.
  std::default_sentinel_t end() const noexcept { return {}; }
  /// The next future as an Asio operation, for coroutines and callbacks: signature
  /// `void(std::exception_ptr, std::optional<future<T>>)`, an empty optional once every
  /// future was handed out, timeout_error past the deadline. It runs on the handler's
  /// associated executor; no thread blocks. One at a time. Emitting the handler's
  /// cancellation slot completes it with cancelled_error (the range stays usable);
  /// destroying the range completes it with cancelled_error too.
  ///
  /// \code
  /// auto r = futura::as_completed(futures);
  /// while (auto f = co_await r.async_next(boost::asio::use_awaitable)) use(f->result());
  /// \endcode
  template <class Token>
  auto async_next(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::exception_ptr, std::optional<future<T>>)>(
        [](auto h, impl* p) { p->next_async(std::move(h)); }, token, p_.get());
  }

  /// The number of distinct futures.
  std::size_t size() const noexcept { return p_->futures.size(); }

 private:
  std::shared_ptr<impl> p_;
};

/// Yields each distinct future of `fs` once (Python's `concurrent.futures.as_completed`):
/// those already done first, in input order, then the others as they complete. Cancelled
/// futures are done too. Any mix of producers; a repeated future is yielded once. A
/// std::vector passed as an rvalue gives its futures up (they are moved in, not copied).
///
/// \code
/// for (auto const& f : futura::as_completed(futures))
///   std::cout << f.result() << '\n';   // never blocks: f is done
/// \endcode
template <detail::future_range R>
auto as_completed(R&& fs) {
  using T = detail::range_future_value_t<R>;
  return as_completed_range<T>(std::forward<R>(fs), std::chrono::steady_clock::time_point::max());
}

/// As as_completed(fs), with a deadline `timeout` after this call: a future not done by
/// then makes `*`/`++` throw timeout_error("2 (of 4) futures unfinished"). Nothing is
/// cancelled. A timeout <= 0 still yields what is already done.
///
/// \code
/// try {
///   for (auto const& f : futura::as_completed(futures, std::chrono::seconds(5))) use(f);
/// } catch (futura::timeout_error const& e) { std::cerr << e.what() << '\n'; }
/// \endcode
template <detail::future_range R, class Rep, class Period>
auto as_completed(R&& fs, std::chrono::duration<Rep, Period> timeout) {
  using T = detail::range_future_value_t<R>;
  auto const deadline = detail::deadline_after(timeout);  // counted from the call
  return as_completed_range<T>(std::forward<R>(fs), deadline);
}

/// as_completed() on futures listed one by one, of any result types: yields them as
/// type-erased `future<>`.
///
/// \code
/// for (futura::future<> const& f : futura::as_completed(count, name))
///   if (f == count) std::cout << count.result() << '\n';
/// \endcode
template <class... T>
requires(sizeof...(T) > 0) auto as_completed(future<T> const&... fs) {
  return futura::as_completed(std::vector<future<>>{fs...});
}

}  // namespace futura

#endif
