// futura/gather.hpp: asyncio.gather for every future: one future for many.
#ifndef FUTURA_GATHER_HPP
#define FUTURA_GATHER_HPP

#include <futura/detail/gather.hpp>
#include <futura/future.hpp>

#include <exception>
#include <ranges>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace futura {

/// A gather's element for a `future<T>`: `T`, `std::monostate` for `future<void>`,
/// `std::reference_wrapper<U>` for `future<U&>`.
template <class T>
using gather_value_t = detail::gather_value_t<T>;

/// A gather_settled element: the child's value or its exception (a cancelled child gives
/// its cancelled_error).
template <class T>
using settled_t = detail::settled_value_t<T>;

/// One future for several (Python's `asyncio.gather`): it completes with every child's
/// value, in argument order, once all are finished; `future<void>` children give
/// `std::monostate`. The first child to fail completes it at once with that same
/// exception_ptr; the other children keep running and are no longer listened to. A
/// cancelled child fails it with cancelled_error. Cancelling the gather cancels every
/// unfinished child and leaves it cancelled(). Children may come from anywhere (pools,
/// promises, Asio operations) and may repeat; values are copied, so a repeated child gives
/// its value twice. `gather()` is complete at once. The gather keeps its children alive
/// until they finish.
///
/// \code
/// auto all = futura::gather(pool.submit(load, 1), p.get_future(), done_future);
/// auto [a, b, c] = all.result();   // std::tuple<int, std::string, std::monostate>
/// \endcode
template <class... T>
auto gather(future<T> const&... fs) -> future<std::tuple<gather_value_t<T>...>> {
  return detail::make_gather<false>(fs...);
}

/// gather over a range of `future<T>`: a `future<std::vector<T>>` in range order
/// (`future<void>` for a range of `future<void>`). An empty range gives a finished future.
///
/// \code
/// std::vector<futura::future<int>> fs = start_all();
/// std::vector<int> values = futura::gather(fs).result();
/// \endcode
template <detail::future_range R>
auto gather(R&& fs) {
  return detail::make_gather_range<false, detail::range_future_value_t<R>>(std::forward<R>(fs));
}

/// gather with Python's `return_exceptions=True`: it never fails because of a child; each
/// element is the child's value or its exception. Cancelling it still cancels the children.
///
/// \code
/// auto [a, b] = futura::gather_settled(ok, failing).result();
/// if (!b) std::rethrow_exception(b.error());
/// \endcode
template <class... T>
auto gather_settled(future<T> const&... fs) -> future<std::tuple<settled_t<T>...>> {
  return detail::make_gather<true>(fs...);
}

/// gather_settled over a range: a `future<std::vector<settled_t<T>>>` in range order.
///
/// \code
/// for (auto& r : futura::gather_settled(fs).result())
///   if (r) use(*r); else log(r.error());
/// \endcode
template <detail::future_range R>
auto gather_settled(R&& fs) {
  return detail::make_gather_range<true, detail::range_future_value_t<R>>(std::forward<R>(fs));
}

}  // namespace futura

#endif
