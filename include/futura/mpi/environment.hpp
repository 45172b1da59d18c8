// futura/mpi/environment.hpp: MPI started with the thread support futura::mpi needs.
#ifndef FUTURA_MPI_ENVIRONMENT_HPP
#define FUTURA_MPI_ENVIRONMENT_HPP

#include <boost/mpi/environment.hpp>

#include <optional>

namespace futura::mpi {

/// The thread level run() needs: MPI_THREAD_SERIALIZED. The root calls MPI from two
/// threads, never at once: the one that called run() (before and after the body) and the
/// executor's progress thread (while the body runs). FUNNELED would forbid the second.
inline constexpr boost::mpi::threading::level needed_thread_level =
    boost::mpi::threading::serialized;

/// boost::mpi::environment, asking for MPI_THREAD_SERIALIZED (or `level`, if higher).
/// Create one at the top of main(), on every rank, before run(). Throws std::runtime_error
/// (and finalizes MPI) when the MPI library gives less than futura::mpi needs, rather than
/// letting run() misbehave later; run() checks the level too, for programs that build their
/// own boost::mpi::environment.
class environment {
 public:
  /// Initializes MPI with the program's arguments, asking for `level`.
  environment(int& argc, char**& argv, boost::mpi::threading::level level = needed_thread_level);
  /// Initializes MPI without the program's arguments, asking for `level`.
  explicit environment(boost::mpi::threading::level level = needed_thread_level);
  environment(environment const&) = delete;
  environment& operator=(environment const&) = delete;

  /// What the MPI library gave.
  boost::mpi::threading::level thread_level() const {
    return boost::mpi::environment::thread_level();
  }
  /// Boost.MPI's own environment, for its other services (processor_name, ...).
  boost::mpi::environment& get() noexcept { return *env_; }

 private:
  void check(boost::mpi::threading::level requested);
  std::optional<boost::mpi::environment> env_;
};

}  // namespace futura::mpi

#endif
