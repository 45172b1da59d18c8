// Submitting a function nobody registered.
#include <futura/mpi.hpp>

int f(int x) {
  return x;
}

void body(futura::mpi::executor& ex) {
  ex.submit(futura::mpi::remote<f>, 1);
}
