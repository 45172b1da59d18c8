// futura/mpi/executor_options.hpp: how futura::mpi::run() sets up its executor.
#ifndef FUTURA_MPI_EXECUTOR_OPTIONS_HPP
#define FUTURA_MPI_EXECUTOR_OPTIONS_HPP

#include <chrono>

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
  /// The longest sleep between two polls (see busy_poll).
  std::chrono::microseconds max_backoff{1000};
};

}  // namespace futura::mpi

#endif
