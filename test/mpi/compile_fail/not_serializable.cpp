// A parameter type Boost.Serialization cannot send: the error names it.
#include <futura/mpi.hpp>

struct no_serialize {
  int v = 0;
};
int use(no_serialize x) {
  return x.v;
}
FUTURA_MPI_REGISTER(use);
