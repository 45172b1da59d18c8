// futura/awaitable_operators.hpp: `co_await (fa || fb)` and `co_await (fa && fb)` on
// futures, with Asio's awaitable operators.
#ifndef FUTURA_AWAITABLE_OPERATORS_HPP
#define FUTURA_AWAITABLE_OPERATORS_HPP

#include <futura/future.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace futura {

namespace detail {
/// A future as an awaitable: `co_await f`, with its asyncio cancellation (the operators
/// cancel the loser through the awaitable's slot, which cancels the future).
template <class T, class Executor = boost::asio::any_io_executor>
boost::asio::awaitable<awaited_t<T>, Executor> awaited(future<T> f) {
  co_return co_await f;
}
}  // namespace detail

/// Waits for the first of two futures to succeed, as Asio's `||` does for awaitables: a
/// std::variant of the winner's value (std::monostate for void); the other is then
/// cancelled (the loser). A failure waits for the other; if both fail, Asio throws
/// boost::asio::multiple_exceptions, whose first_exception() is the first. Mixes with
/// awaitables:
/// `co_await (fut || timer.async_wait(use_awaitable))`.
///
/// \code
/// auto first = futura::create_task(ex, fetch(a));
/// auto second = futura::create_task(ex, fetch(b));
/// auto either = first || second;
/// std::variant<std::string, std::string> page = co_await std::move(either);
/// \endcode
template <class A, class B>
auto operator||(future<A> const& a, future<B> const& b) {
  using boost::asio::experimental::awaitable_operators::operator||;
  return detail::awaited(a) || detail::awaited(b);
}
/// `fut || awaitable`: as above, with an Asio awaitable on the right.
template <class A, class U, class Executor>
auto operator||(future<A> const& a, boost::asio::awaitable<U, Executor> b) {
  using boost::asio::experimental::awaitable_operators::operator||;
  return detail::awaited<A, Executor>(a) || std::move(b);
}
/// `awaitable || fut`: as above, with an Asio awaitable on the left.
template <class U, class Executor, class B>
auto operator||(boost::asio::awaitable<U, Executor> a, future<B> const& b) {
  using boost::asio::experimental::awaitable_operators::operator||;
  return std::move(a) || detail::awaited<B, Executor>(b);
}

/// Waits for both futures, as Asio's `&&` does for awaitables: a std::tuple of their
/// values (void ones left out; a single value alone). The first failure cancels the other
/// and is rethrown (asyncio's gather of two, cancelling on failure).
///
/// \code
/// auto both = count_future && name_future;
/// auto [count, name] = co_await std::move(both);
/// \endcode
template <class A, class B>
auto operator&&(future<A> const& a, future<B> const& b) {
  using boost::asio::experimental::awaitable_operators::operator&&;
  return detail::awaited(a) && detail::awaited(b);
}
/// `fut && awaitable`.
template <class A, class U, class Executor>
auto operator&&(future<A> const& a, boost::asio::awaitable<U, Executor> b) {
  using boost::asio::experimental::awaitable_operators::operator&&;
  return detail::awaited<A, Executor>(a) && std::move(b);
}
/// `awaitable && fut`.
template <class U, class Executor, class B>
auto operator&&(boost::asio::awaitable<U, Executor> a, future<B> const& b) {
  using boost::asio::experimental::awaitable_operators::operator&&;
  return std::move(a) && detail::awaited<B, Executor>(b);
}

}  // namespace futura

#endif
