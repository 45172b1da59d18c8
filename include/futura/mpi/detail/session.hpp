// futura/mpi/detail/session.hpp: one run() on one rank: the root's executor core, or a worker.
#ifndef FUTURA_MPI_DETAIL_SESSION_HPP
#define FUTURA_MPI_DETAIL_SESSION_HPP

#include <futura/mpi/detail/calls.hpp>
#include <futura/mpi/executor_options.hpp>

#include <boost/mpi/communicator.hpp>

#include <cstdint>
#include <memory>

namespace futura::mpi {

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
  void open(boost::mpi::communicator const& comm, executor_options const& options);

  boost::mpi::communicator comm_;  // a duplicate: our tags never meet the user's messages
  executor_options options_;
  std::unique_ptr<root_core> root_;
};

}  // namespace detail
}  // namespace futura::mpi

#endif
