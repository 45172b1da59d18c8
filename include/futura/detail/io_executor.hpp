// futura/detail/io_executor.hpp: which io_context, if any, an executor runs on, and
// whether the calling thread runs it.
#ifndef FUTURA_DETAIL_IO_EXECUTOR_HPP
#define FUTURA_DETAIL_IO_EXECUTOR_HPP

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
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
