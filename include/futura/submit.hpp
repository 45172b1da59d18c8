// futura/submit.hpp: run a function on any Asio executor and get its future.
#ifndef FUTURA_SUBMIT_HPP
#define FUTURA_SUBMIT_HPP

#include <futura/detail/task.hpp>
#include <futura/future.hpp>

#include <boost/asio/execution/executor.hpp>
#include <boost/asio/is_executor.hpp>
#include <boost/asio/post.hpp>

#include <type_traits>
#include <utility>

namespace futura {

/// Runs `fn(args...)` on `ex` (Python's `executor.submit`, `loop.run_in_executor`) and
/// returns its future. `fn` and `args` are decay-copied and destroyed before the future
/// completes; an exception thrown by `fn` lands in the future. Cancelling the future
/// before the function starts means it never runs. If the executor drops the work unrun
/// (its context destroyed), the future completes with broken_promise.
///
/// \code
/// boost::asio::thread_pool pool{2};
/// auto f = futura::submit(pool.get_executor(), [](int x) { return x * x; }, 7);
/// assert(f.result() == 49);
/// \endcode
template <class Executor, class F, class... Args>
requires(boost::asio::execution::is_executor<Executor>::value ||
         boost::asio::is_executor<Executor>::value) auto submit(Executor const& ex, F&& fn,
                                                                Args&&... args) {
  using task_t = detail::task<std::decay_t<F>, std::decay_t<Args>...>;
  auto t = task_t(std::forward<F>(fn), std::forward<Args>(args)...);
  auto f = t.get_future();
  boost::asio::post(ex, std::move(t));
  return f;
}

}  // namespace futura

#endif
