// futura/detail/future_range.hpp: what gather, wait and as_completed accept.
#ifndef FUTURA_DETAIL_FUTURE_RANGE_HPP
#define FUTURA_DETAIL_FUTURE_RANGE_HPP

#include <futura/future.hpp>

#include <ranges>
#include <type_traits>

namespace futura::detail {

template <class F>
struct future_value;
template <class T>
struct future_value<future<T>> {
  using type = T;
};

/// An input range whose elements are futures of one type: a container, a view, a span.
template <class R>
concept future_range = std::ranges::input_range<R> && requires {
  typename future_value<std::remove_cvref_t<std::ranges::range_value_t<R>>>::type;
};

/// The T of a future_range's future<T>.
template <class R>
using range_future_value_t =
    typename future_value<std::remove_cvref_t<std::ranges::range_value_t<R>>>::type;

}  // namespace futura::detail

#endif
