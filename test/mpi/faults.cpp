// Programs that must fail, and how: run by CTest through expect_failure.cmake, which
// checks the exit code, the messages and the time taken.
//
//   faults worker_abort | worker_segv | worker_exit | worker_killed   (mpirun -np 4)
//       a worker dies in the middle of a call while the root waits for its result: Open MPI
//       ends the whole job, and the worker's last line names the call
//   faults one_rank       (mpirun -np 1)  run() explains that workers are needed
//   faults thread_level   (mpirun -np 2)  MPI started without thread support: run() says so
//   faults no_environment (mpirun -np 2)  run() before MPI is initialized
#include <futura/mpi.hpp>

#include <boost/mpi/environment.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

int crash(std::string how) {
  if (how == "worker_abort") std::abort();
  if (how == "worker_segv") std::raise(SIGSEGV);
  if (how == "worker_exit") std::exit(3);
  if (how == "worker_killed") std::raise(SIGKILL);
  return 0;
}
FUTURA_MPI_REGISTER(crash);

namespace {

int expect_refusal(char const* mode) {
  try {
    futura::mpi::run([](futura::mpi::executor&) {});
  } catch (std::exception const& e) {
    std::cout << mode << ": " << e.what() << std::endl;
    return 0;
  }
  std::cout << mode << ": run() did not refuse" << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string const mode = argc > 1 ? argv[1] : "";
  if (mode == "thread_level") {
    boost::mpi::environment env(argc, argv, boost::mpi::threading::single);
    return expect_refusal("thread_level");
  }
  if (mode == "no_environment") return expect_refusal("no_environment");
  futura::mpi::environment env(argc, argv);
  if (mode == "one_rank") return expect_refusal("one_rank");
  futura::mpi::run([&](futura::mpi::executor& ex) {
    std::cout << "root: waiting for a call that kills its worker" << std::endl;
    auto f = ex.submit(futura::mpi::remote<crash>, mode);
    f.result();
    std::cout << "root: the call returned (it should not have)" << std::endl;
  });
  return 0;
}
