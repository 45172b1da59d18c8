// futura/boost_future.hpp: Boost.Thread interop. Link Boost.Thread to use it.
#ifndef FUTURA_BOOST_FUTURE_HPP
#define FUTURA_BOOST_FUTURE_HPP

// The bridge is a continuation (`.then`) on `boost::future`, which Boost.Thread only
// provides on request (or with BOOST_THREAD_VERSION >= 4).
#if !defined(BOOST_THREAD_PROVIDES_FUTURE) || !defined(BOOST_THREAD_PROVIDES_FUTURE_CONTINUATION)
#if defined(BOOST_THREAD_FUTURE_HPP)
#error \
    "include <futura/boost_future.hpp> before <boost/thread/future.hpp>, or define \
BOOST_THREAD_VERSION 4 everywhere"
#endif
#ifndef BOOST_THREAD_PROVIDES_FUTURE
#define BOOST_THREAD_PROVIDES_FUTURE
#endif
#ifndef BOOST_THREAD_PROVIDES_FUTURE_CONTINUATION
#define BOOST_THREAD_PROVIDES_FUTURE_CONTINUATION
#endif
#endif

#include <futura/detail/task.hpp>
#include <futura/future.hpp>

#include <boost/thread/future.hpp>

#include <exception>
#include <utility>

namespace futura {

namespace detail {
template <class T, class BoostFuture>
future<T> wrap_boost(BoostFuture&& in) {
  if (!in.valid()) throw invalid_state_error("wrap_future: the boost future has no state");
  producer_ref<T> out;
  auto f = out.get_future();
  // launch::sync: the continuation runs in the thread that completes `in` (or here, if it
  // is ready), so no thread is parked waiting. The returned future is not needed.
  (void)std::move(in).then(boost::launch::sync, [out = std::move(out)](auto done) mutable {
    try {
      if constexpr (std::is_void_v<T>) {
        done.get();
        out->try_set_value();
      } else if constexpr (std::is_reference_v<T>) {
        out->try_set_value(done.get());
      } else {
        out->try_set_value(std::move(done.get()));
      }
    } catch (...) {
      out->try_set_exception(std::current_exception());
    }
  });
  return f;
}
}  // namespace detail

/// A futura future that completes when `f` does, with its value or exception, without a
/// thread blocked on it (Python's asyncio.wrap_future, for Boost.Thread futures). `f` is
/// consumed. Cancelling the result does not cancel `f` (Boost futures cannot be).
///
/// \code
/// boost::promise<int> p;
/// futura::future<int> f = futura::wrap_future(p.get_future());
/// p.set_value(1);   // f completes in this thread
/// \endcode
template <class T>
future<T> wrap_future(boost::future<T> f) {
  return detail::wrap_boost<T>(std::move(f));
}
/// As wrap_future(boost::future<T>), for a boost::shared_future: the value is copied, and
/// the other copies of `f` stay usable.
template <class T>
future<T> wrap_future(boost::shared_future<T> f) {
  return detail::wrap_boost<T>(std::move(f));
}

}  // namespace futura

#endif
