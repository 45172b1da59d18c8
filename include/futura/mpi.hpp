// futura/mpi.hpp: futura::mpi, Python's mpi4py.futures on Boost.MPI: the calls of a
// futura executor run in other MPI processes, on this machine or across a cluster, and
// their futures are ordinary futura::future<T>.
//
// An optional part of futura: link futura::mpi (CMake) or futura_mpi (b2), which needs
// Boost.MPI, Boost.Serialization and an MPI library; futura itself needs none of them.
//
//   int square(int x) { return x * x; }
//   FUTURA_MPI_REGISTER(square);                      // every rank knows it by name
//
//   int main(int argc, char** argv) {
//     futura::mpi::environment env(argc, argv);       // MPI_THREAD_SERIALIZED
//     futura::mpi::run([](futura::mpi::executor& ex) {  // the body runs on rank 0 only
//       auto f = ex.submit(futura::mpi::remote<square>, 7);
//       std::cout << f.result() << '\n';              // 49, computed by another rank
//     });                                             // the other ranks serve until here
//   }
//
//   mpirun -np 4 ./program       (one root, three workers)
#ifndef FUTURA_MPI_HPP
#define FUTURA_MPI_HPP

#include <futura/mpi/environment.hpp>
#include <futura/mpi/errors.hpp>
#include <futura/mpi/executor.hpp>
#include <futura/mpi/executor_options.hpp>
#include <futura/mpi/remote.hpp>

#endif
