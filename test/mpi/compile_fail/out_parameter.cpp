// A parameter the function could write to: nothing would carry the write back.
#include <futura/mpi.hpp>

void fill(int& out) {
  out = 1;
}
FUTURA_MPI_REGISTER(fill);
