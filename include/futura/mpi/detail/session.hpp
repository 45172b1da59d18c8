// futura/mpi/detail/session.hpp: one run() on one rank: the root's executor core, or a worker.
#ifndef FUTURA_MPI_DETAIL_SESSION_HPP
#define FUTURA_MPI_DETAIL_SESSION_HPP

#include <futura/mpi/detail/calls.hpp>

#include <boost/mpi/communicator.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace futura::mpi {

/// How run() sets up the executor. The same on every rank (SPMD: every rank runs the
/// same call).
struct executor_options {
  /// The rank (in the communicator given to run()) that runs the body and submits; every
  /// other rank is a worker.
  int root = 0;
  /// Calls a worker is given before it has answered: more hide the message latency, fewer
  /// spread long calls more evenly. A worker gets its next call when it answers one
  /// (dynamic load balancing); a chunk of map() counts as one call. > 0.
  int max_in_flight = 4;
  /// How the root's progress thread (while calls are out) and an idle worker wait for
  /// the next message: they poll without sleeping (yielding the core) for `busy_poll`
  /// after the last one, then sleep an eighth of the time waited, up to `max_backoff`
  /// (mpi4py's MPI4PY_FUTURES_BACKOFF is also 1 ms). So replies that follow closely are
  /// seen at once, a long wait costs about one wake-up per `max_backoff` (~2% of a core
  /// here), and a reply is noticed within an eighth of its call's time, or `max_backoff`.
  /// The root's progress thread with no call out sleeps until a submission.
  std::chrono::microseconds busy_poll{100};
  std::chrono::microseconds max_backoff{1000};
};

namespace detail {

/// The root's side: the queue of calls not yet sent, and the progress thread, the only
/// thread of the root that calls MPI while the executor is open. Thread-safe.
class root_core {
 public:
  struct impl;
  explicit root_core(std::unique_ptr<impl> p) noexcept;
  ~root_core();

  std::uint64_t next_id() noexcept;
  /// Throws broken_executor once shut down.
  void check_open() const;
  /// Queues a call for the next worker with room; throws broken_executor once shut down.
  void enqueue(std::unique_ptr<call_base> call);
  void shutdown(bool wait, bool cancel_futures);
  int workers() const noexcept;

 private:
  std::unique_ptr<impl> p_;
};

/// One run() on one rank. The constructor is collective (every rank of the communicator
/// must construct one) and throws, on every rank alike, when the run cannot work: MPI not
/// initialized or without the thread level needed, a single process, a root out of range,
/// two functions registered under one name.
class session {
 public:
  session(boost::mpi::communicator const& comm, executor_options const& options);
  session(session const&) = delete;
  session& operator=(session const&) = delete;
  /// On the root: shuts down (waiting for every call), stops the workers, joins the
  /// progress thread.
  ~session();

  bool is_root() const noexcept { return root_ != nullptr; }
  root_core& core() noexcept { return *root_; }
  /// A worker's life: runs calls until the root's stop.
  void serve();

 private:
  boost::mpi::communicator comm_;  // a duplicate: our tags never meet the user's messages
  executor_options options_;
  std::unique_ptr<root_core> root_;
};

}  // namespace detail
}  // namespace futura::mpi

#endif
