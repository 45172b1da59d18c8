// futura/mpi/executor.hpp: mpi4py's MPICommExecutor: the root submits, the other ranks run.
#ifndef FUTURA_MPI_EXECUTOR_HPP
#define FUTURA_MPI_EXECUTOR_HPP

#include <futura/future.hpp>
#include <futura/mpi/detail/calls.hpp>
#include <futura/mpi/detail/session.hpp>
#include <futura/mpi/executor_options.hpp>
#include <futura/mpi/remote.hpp>
#include <futura/thread_pool_executor.hpp>  // shutdown_options

#include <boost/mpi/communicator.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace futura::mpi {

template <class T>
class map_range;

/// The root's handle on the worker processes: submit() and map() as a
/// thread_pool_executor's, but the calls run in the other ranks. Only run() makes one, and
/// only on the root, so a worker rank cannot submit by mistake. Thread-safe.
///
/// Each call goes to a worker with room (at most executor_options::max_in_flight calls
/// each), in submission order, and its future completes as the reply comes back, in
/// completion order. A call's future is an ordinary futura::future: cancel() is true until
/// the call is sent (Python's rule: a sent call is running), and it mixes with any other
/// future in wait, as_completed and gather, or in a co_await. Its plain done callbacks run
/// on the executor's progress thread: keep them short and never block there on another
/// call of this executor.
class executor {
 public:
  executor(executor const&) = delete;
  executor& operator=(executor const&) = delete;

  /// Sends `fn(args...)` to a worker; returns its future. The arguments are converted to
  /// the function's parameter types and serialized now, in the caller. Throws
  /// broken_executor("cannot schedule new futures after shutdown") once shut down.
  template <auto Fn, class... Args>
  auto submit(remote_function<Fn> fn, Args&&... args)
      -> future<typename remote_function<Fn>::value_type>;

  /// Calls `fn(x)` for every x of `inputs` (or `fn(a, b...)` when x is a tuple and fn takes
  /// several arguments), `chunksize` inputs to a message, all submitted now; the result
  /// yields the values in input order, each as soon as its chunk is back, and rethrows a
  /// call's exception at its position. Chunks not yet sent when the result is destroyed are
  /// cancelled. Throws std::invalid_argument if chunksize is 0.
  template <auto Fn, std::ranges::input_range R>
  auto map(remote_function<Fn> fn, R&& inputs, std::size_t chunksize = 1) {
    return map_impl(fn, std::forward<R>(inputs), chunksize, std::nullopt);
  }
  /// As map(fn, inputs, chunksize); a value not ready `timeout` after this call throws
  /// timeout_error.
  template <auto Fn, std::ranges::input_range R, class Rep, class Period>
  auto map(remote_function<Fn> fn, R&& inputs, std::size_t chunksize,
           std::chrono::duration<Rep, Period> timeout) {
    return map_impl(fn, std::forward<R>(inputs), chunksize,
                    futura::detail::deadline_after(timeout));
  }
  /// As map(fn, inputs, 1, timeout).
  template <auto Fn, std::ranges::input_range R, class Rep, class Period>
  auto map(remote_function<Fn> fn, R&& inputs, std::chrono::duration<Rep, Period> timeout) {
    return map(fn, std::forward<R>(inputs), 1, timeout);
  }

  /// Refuses new calls from now on. `cancel_futures`: the calls not yet sent are cancelled
  /// at once. `wait`: returns when every call submitted has ended (run, or cancelled). The workers
  /// keep serving until run()'s body returns. From a done callback of this executor (its progress
  /// thread), shutdown(true) throws invalid_state_error: it would wait for itself.
  void shutdown(bool wait = true, bool cancel_futures = false) {
    core_.shutdown(wait, cancel_futures);
  }
  /// shutdown() with Python's keyword names: `ex.shutdown({.cancel_futures = true})`.
  void shutdown(shutdown_options options) { shutdown(options.wait, options.cancel_futures); }

  /// The number of worker processes (the communicator's size minus one).
  int max_workers() const noexcept { return core_.workers(); }

 private:
  template <class Body>
  friend auto run(boost::mpi::communicator const&, Body&&, executor_options const&);
  explicit executor(detail::root_core& core) noexcept : core_(core) {}

  template <auto Fn, class R>
  auto map_impl(remote_function<Fn> fn, R&& inputs, std::size_t chunksize,
                std::optional<std::chrono::steady_clock::time_point> deadline);

  detail::root_core& core_;
};

/// The results of executor::map, in input order: an input range, iterated once, blocking
/// for each value in turn. Holds each chunk's future until its last value is passed.
template <class T>
class map_range {
  using chunk_future = future<std::vector<detail::element<T>>>;

 public:
  /// Walks the values in input order; `*` blocks until the chunk holding it is back.
  class iterator {
   public:
    /// One pass only.
    using iterator_category = std::input_iterator_tag;
    /// A signed distance, as iterators need.
    using difference_type = std::ptrdiff_t;
    /// The remote function's result type.
    using value_type = T;
    /// What `*` gives: the value in its chunk's future, valid until the chunk is passed.
    using reference = T&;

    /// A singular iterator (only assignable).
    iterator() = default;
    /// Blocks until this value's chunk is back; the value, or rethrows its exception
    /// (timeout_error past map()'s timeout).
    reference operator*() const { return r_->get(chunk_, i_); }
    /// Moves to the next value, letting go of a chunk once its last value is passed.
    iterator& operator++() {
      r_->advance(chunk_, i_);
      return *this;
    }
    /// As `++it`.
    void operator++(int) { ++*this; }
    /// True past the last value.
    friend bool operator==(iterator const& a, std::default_sentinel_t) { return a.at_end(); }

   private:
    bool at_end() const noexcept { return chunk_ == r_->chunks_.size(); }
    friend map_range;
    iterator(map_range* r, std::size_t chunk, std::size_t i) : r_(r), chunk_(chunk), i_(i) {}
    map_range* r_ = nullptr;
    std::size_t chunk_ = 0;
    std::size_t i_ = 0;
  };

  /// What executor::map() returns: one future per chunk, the chunks' sizes, and the
  /// deadline past which a value not ready throws timeout_error (none: no limit).
  map_range(std::vector<chunk_future> chunks, std::vector<std::uint32_t> sizes,
            std::optional<std::chrono::steady_clock::time_point> deadline)
      : chunks_(std::move(chunks)), sizes_(std::move(sizes)), deadline_(deadline) {}
  /// Takes over `o`'s chunks.
  map_range(map_range&&) noexcept = default;
  map_range& operator=(map_range&&) = delete;
  ~map_range() {
    for (auto& f : chunks_)
      if (f.valid()) f.cancel();
  }

  /// Iterating starts where an earlier loop stopped.
  iterator begin() { return iterator(this, chunk_, i_); }
  /// The end: compare an iterator with it.
  std::default_sentinel_t end() const noexcept { return {}; }
  /// The number of values.
  std::size_t size() const noexcept {
    std::size_t n = 0;
    for (auto s : sizes_) n += s;
    return n;
  }

 private:
  T& get(std::size_t chunk, std::size_t i) {
    auto& f = chunks_[chunk];
    auto& values = deadline_ ? f.result(*deadline_ - std::chrono::steady_clock::now()) : f.result();
    if (values.size() != sizes_[chunk])
      throw std::runtime_error("futura::mpi: a chunk came back with the wrong number of results");
    auto& e = values[i];
    if (e.index() == 1) std::rethrow_exception(std::get<1>(e));
    return std::get<0>(e);
  }
  void advance(std::size_t& chunk, std::size_t& i) {
    if (++i == sizes_[chunk]) {
      chunks_[chunk] = {};  // keep nothing that was passed
      ++chunk;
      i = 0;
    }
    chunk_ = chunk;
    i_ = i;
  }

  std::vector<chunk_future> chunks_;
  std::vector<std::uint32_t> sizes_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::size_t chunk_ = 0, i_ = 0;
};

/// The SPMD entry point, mpi4py's `with MPICommExecutor(comm, root) as ex`: call it on
/// every rank of `comm`. On the root, runs `body(executor&)`, then shuts the executor down
/// (waiting for every call) and returns what the body returned (a std::optional holding it;
/// nothing for a void body). On every other rank, serves calls until the root's body is
/// done, then returns (an empty optional). An exception from the body is rethrown on the
/// root once the workers are released.
///
/// Why a function taking the root's body rather than an object empty on the workers: the
/// executor exists only inside the body, which only the root runs, so no worker can hold
/// one, and nothing has to be tested for emptiness.
///
/// Needs MPI initialized with at least MPI_THREAD_SERIALIZED (futura::mpi::environment does
/// it) and at least two processes; throws on every rank otherwise. Not reentrant: run()
/// from inside a body throws std::logic_error. The executor lives until the body returns. While the
/// body runs, the root's progress thread is the one that calls MPI: the body may call MPI itself
/// only if the environment gives MPI_THREAD_MULTIPLE.
///
/// \code
/// int square(int x) { return x * x; }
/// FUTURA_MPI_REGISTER(square);
///
/// int main(int argc, char** argv) {
///   futura::mpi::environment env(argc, argv);
///   futura::mpi::run([](futura::mpi::executor& ex) {
///     auto f = ex.submit(futura::mpi::remote<square>, 7);   // future<int>
///     for (int r : ex.map(futura::mpi::remote<square>, std::vector{1, 2, 3})) use(r);
///   });
/// }
/// \endcode
template <class Body>
auto run(boost::mpi::communicator const& comm, Body&& body, executor_options const& options) {
  static_assert(std::is_invocable_v<Body&, executor&>,
                "futura::mpi::run(comm, body): body takes a futura::mpi::executor&");
  using result_t = std::invoke_result_t<Body&, executor&>;
  detail::session s(comm, options);
  if constexpr (std::is_void_v<result_t>) {
    if (!s.is_root()) return s.serve();
    executor ex(s.core());
    body(ex);
  } else {
    std::optional<std::remove_cvref_t<result_t>> r;
    if (!s.is_root()) {
      s.serve();
      return r;
    }
    executor ex(s.core());
    r.emplace(body(ex));
    return r;
  }
}  // ~session: shutdown(wait), stop the workers, join, also when the body threw

template <class Body>
auto run(boost::mpi::communicator const& comm, Body&& body) {
  return run(comm, std::forward<Body>(body), executor_options{});
}

/// run() on MPI_COMM_WORLD.
template <class Body>
auto run(Body&& body, executor_options const& options = {}) {
  return run(boost::mpi::communicator(), std::forward<Body>(body), options);
}

// --- templates ------------------------------------------------------------------------

namespace detail {

/// Serializes one argument as the parameter type `P` the worker will read.
template <class P, class A>
void save_arg(boost::archive::binary_oarchive& ar, A&& a) {
  if constexpr (std::is_same_v<std::remove_cvref_t<A>, P>) {
    P const& v = a;
    ar << v;
  } else {
    P const v = std::forward<A>(a);  // converted as a call to the function would
    ar << v;
  }
}

template <class Params, std::size_t... I, class... A>
void save_args_at(boost::archive::binary_oarchive& ar, std::index_sequence<I...>, A&&... a) {
  (save_arg<std::tuple_element_t<I, Params>>(ar, std::forward<A>(a)), ...);
}
template <class Params, class... A>
void save_args(boost::archive::binary_oarchive& ar, A&&... a) {
  save_args_at<Params>(ar, std::index_sequence_for<A...>{}, std::forward<A>(a)...);
}

template <class Params, class Indices, class... A>
struct args_convert;
template <class Params, std::size_t... I, class... A>
struct args_convert<Params, std::index_sequence<I...>, A...>
    : std::bool_constant<(std::is_convertible_v<A&&, std::tuple_element_t<I, Params>> && ... &&
                          true)> {};
/// As many arguments as parameters, each implicitly convertible to its parameter's type.
template <class Params, class... A>
inline constexpr bool args_fit =
    std::conditional_t<sizeof...(A) == std::tuple_size_v<Params>,
                       args_convert<Params, std::index_sequence_for<A...>, A...>,
                       std::false_type>::value;

/// Serializes one input of map(): the argument, or the arguments of a tuple-like input.
template <class Params, class X>
void save_input(boost::archive::binary_oarchive& ar, X&& x) {
  if constexpr (std::tuple_size_v<Params> == 1)
    save_arg<std::tuple_element_t<0, Params>>(ar, std::forward<X>(x));
  else
    std::apply([&](auto&&... a) { save_args<Params>(ar, std::forward<decltype(a)>(a)...); },
               std::forward<X>(x));
}

}  // namespace detail

template <auto Fn, class... Args>
auto executor::submit(remote_function<Fn> fn, Args&&... args)
    -> future<typename remote_function<Fn>::value_type> {
  using F = remote_function<Fn>;
  using T = typename F::value_type;
  static_assert(sizeof...(Args) == F::arity,
                "futura::mpi::executor::submit: not as many arguments as the function takes");
  static_assert(
      detail::args_fit<typename F::params, Args...>,
      "futura::mpi::executor::submit: an argument does not convert to its parameter type");
  (void)fn;
  core_.check_open();
  auto call = std::make_unique<detail::single_call<T>>(core_.next_id(), F::name());
  auto fut = call->get_future();
  auto const at = detail::begin_call_frame(call->frame, call->id, detail::call_kind::single,
                                           F::signature(), F::name());
  {
    detail::oarchive_to out(call->frame);
    detail::save_args<typename F::params>(out.get(), std::forward<Args>(args)...);
  }
  detail::end_frame(call->frame, at);
  core_.enqueue(std::move(call));
  return fut;
}

template <auto Fn, class R>
auto executor::map_impl(remote_function<Fn> fn, R&& inputs, std::size_t chunksize,
                        std::optional<std::chrono::steady_clock::time_point> deadline) {
  using F = remote_function<Fn>;
  using T = typename F::value_type;
  static_assert(!std::is_void_v<T>, "map needs a function that returns a value; use submit");
  (void)fn;
  if (chunksize == 0) throw std::invalid_argument("chunksize must be >= 1");
  if (chunksize > UINT32_MAX) chunksize = UINT32_MAX;
  core_.check_open();

  std::vector<future<std::vector<detail::element<T>>>> chunks;
  std::vector<std::uint32_t> sizes;
  if constexpr (std::ranges::sized_range<R>) {
    auto const n = std::ranges::size(inputs);
    chunks.reserve(n / chunksize + 1);
    sizes.reserve(n / chunksize + 1);
  }
  try {
    auto it = std::ranges::begin(inputs);
    auto const end = std::ranges::end(inputs);
    while (it != end) {
      auto call = std::make_unique<detail::chunk_call<T>>(core_.next_id(), F::name());
      auto& frame = call->frame;
      auto const at = detail::begin_call_frame(frame, call->id, detail::call_kind::chunk,
                                               F::signature(), F::name());
      auto const count_at = frame.size();
      detail::put(frame, std::uint32_t{0});
      std::uint32_t count = 0;
      {
        detail::oarchive_to out(frame);
        for (; it != end && count < chunksize; ++it, ++count)
          detail::save_input<typename F::params>(out.get(), *it);
      }
      std::memcpy(frame.data() + count_at, &count, sizeof count);
      detail::end_frame(frame, at);
      chunks.push_back(call->get_future());
      sizes.push_back(count);
      core_.enqueue(std::move(call));
    }
  } catch (...) {  // shut down meanwhile, or an input failed to serialize: take back the rest
    for (auto& f : chunks) f.cancel();
    throw;
  }
  return map_range<T>(std::move(chunks), std::move(sizes), deadline);
}

}  // namespace futura::mpi

#endif
