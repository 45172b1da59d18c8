// futura/detail/io_executor.hpp: which io_context, if any, an executor runs on, and
// whether the calling thread runs it.
#ifndef FUTURA_DETAIL_IO_EXECUTOR_HPP
#define FUTURA_DETAIL_IO_EXECUTOR_HPP

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdint>
#include <type_traits>
#include <utility>

namespace futura::detail {

template <class Executor>
struct is_io_executor : std::false_type {};
template <class Allocator, std::uintptr_t Bits>
struct is_io_executor<boost::asio::io_context::basic_executor_type<Allocator, Bits>>
    : std::true_type {};

/// The io_context an executor runs on, or nullptr: io_context's own executors, strands
/// over them (unless `ThroughStrands` is false: then only executors that may run a handler
/// on any of the io_context's threads at once), and any_io_executor holding either.
template <bool ThroughStrands = true, class Executor>
boost::asio::io_context* io_context_of(Executor const& ex) noexcept {
  using io_ex = boost::asio::io_context::executor_type;
  using tracked_io_ex = std::decay_t<decltype(boost::asio::prefer(
      std::declval<io_ex>(), boost::asio::execution::outstanding_work.tracked))>;
  if constexpr (is_io_executor<Executor>::value) {
    return &ex.context();
  } else if constexpr (requires { ex.get_inner_executor(); }) {
    if constexpr (ThroughStrands)
      return io_context_of(ex.get_inner_executor());
    else
      return nullptr;
  } else if constexpr (requires { ex.template target<io_ex>(); }) {
    if (auto* p = ex.template target<io_ex>()) return &p->context();
    if (auto* p = ex.template target<tracked_io_ex>()) return &p->context();
    if constexpr (ThroughStrands) {
      if (auto* p = ex.template target<boost::asio::strand<io_ex>>()) return io_context_of(*p);
      if (auto* p = ex.template target<boost::asio::strand<tracked_io_ex>>())
        return io_context_of(*p);  // a strand preferred outstanding_work.tracked
      if (auto* p = ex.template target<boost::asio::strand<boost::asio::any_io_executor>>())
        return io_context_of(*p);
    }
    return nullptr;
  } else {
    return nullptr;
  }
}

template <class Executor>
struct is_thread_pool_executor : std::false_type {};
template <class Allocator, unsigned int Bits>
struct is_thread_pool_executor<boost::asio::thread_pool::basic_executor_type<Allocator, Bits>>
    : std::true_type {};

/// Whether an executor may only be destroyed while its context lives: a strand does (its
/// implementation unlinks itself from the context's strand service), an io_context's or a
/// thread pool's own executor does not (it is a pointer).
template <class Executor>
bool needs_live_context(Executor const& ex) noexcept {
  if constexpr (is_io_executor<Executor>::value || is_thread_pool_executor<Executor>::value ||
                std::is_same_v<Executor, boost::asio::system_executor>) {
    return false;
  } else if constexpr (std::is_same_v<Executor, boost::asio::any_io_executor>) {
    using io_ex = boost::asio::io_context::executor_type;
    using tracked_io_ex = std::decay_t<decltype(boost::asio::prefer(
        std::declval<io_ex>(), boost::asio::execution::outstanding_work.tracked))>;
    return !(ex.template target<io_ex>() || ex.template target<tracked_io_ex>() ||
             ex.template target<boost::asio::thread_pool::executor_type>());
  } else {
    return true;
  }
}

/// Posts `f` to `ex` from any thread while ex's context is alive but may be shutting down
/// (futura posts through its registry, which closes when its own service shuts down).
/// Asio shuts a context's services down newest first, so a strand's service may already be
/// shutting down, and posting into a strand then races with that shutdown inside Asio (the
/// function can be left in the strand's queue, with the strand, for ever). The io_context's
/// scheduler is always shut down last: a strand is reached through it, and entered with
/// dispatch from the loop's own thread (as cheap as the strand's own post, which schedules
/// the strand there anyway).
template <class Executor, class F>
void post_safely(Executor const& ex, F&& f) {
  if (needs_live_context(ex)) {
    if (auto* io = io_context_of(ex)) {
      boost::asio::post(io->get_executor(), [ex, f = std::forward<F>(f)]() mutable {
        boost::asio::dispatch(ex, std::move(f));
      });
      return;
    }
  }
  boost::asio::post(ex, std::forward<F>(f));
}

/// Whether the calling thread is running `ex` now: inside one of its io_context's run()
/// calls, inside its strand, on one of its thread pool's threads. The executor's context
/// must be alive. False for executors that cannot tell (then nothing is done inline).
template <class Executor>
bool running_in_this_thread(Executor const& ex) noexcept {
  if constexpr (std::is_same_v<Executor, boost::asio::any_io_executor>) {
    using io_ex = boost::asio::io_context::executor_type;
    using tracked_io_ex = std::decay_t<decltype(boost::asio::prefer(
        std::declval<io_ex>(), boost::asio::execution::outstanding_work.tracked))>;
    if (auto* p = ex.template target<io_ex>()) return p->running_in_this_thread();
    if (auto* p = ex.template target<tracked_io_ex>()) return p->running_in_this_thread();
    if (auto* p = ex.template target<boost::asio::strand<io_ex>>())
      return p->running_in_this_thread();
    if (auto* p = ex.template target<boost::asio::strand<boost::asio::any_io_executor>>())
      return p->running_in_this_thread();
    return false;
  } else if constexpr (requires { ex.running_in_this_thread(); }) {
    return ex.running_in_this_thread();
  } else {
    return false;
  }
}

}  // namespace futura::detail

#endif
