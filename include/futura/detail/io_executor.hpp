// futura/detail/io_executor.hpp: which io_context, if any, an executor runs on.
#ifndef FUTURA_DETAIL_IO_EXECUTOR_HPP
#define FUTURA_DETAIL_IO_EXECUTOR_HPP

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/strand.hpp>

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

/// As io_context_of, but not through strands: where any thread of the io_context may run
/// a handler at once.
template <class Executor>
boost::asio::io_context* unordered_io_context_of(Executor const& ex) noexcept {
  return io_context_of<false>(ex);
}

}  // namespace futura::detail

#endif
