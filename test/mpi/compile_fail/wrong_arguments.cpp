// An argument that does not convert to the parameter type.
#include <futura/mpi.hpp>

#include <string>

int length(std::string s) {
  return static_cast<int>(s.size());
}
FUTURA_MPI_REGISTER(length);

void body(futura::mpi::executor& ex) {
  ex.submit(futura::mpi::remote<length>, 42);
}
