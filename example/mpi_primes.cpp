// The ProcessPoolExecutor example of Python's concurrent.futures documentation, with MPI
// processes for the pool: is_prime runs in the worker ranks. It prints what the Python
// program prints, in input order, and reports on stderr each check as it completes
// (as_completed), whichever worker finishes first.
//
//   mpirun -np 4 ./mpi_primes        (rank 0 submits, ranks 1-3 check numbers)
//
// The Python original:
//   with concurrent.futures.ProcessPoolExecutor() as executor:
//       for number, prime in zip(PRIMES, executor.map(is_prime, PRIMES)):
//           print('%d is prime: %s' % (number, prime))
#include <futura/as_completed.hpp>
#include <futura/mpi.hpp>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <vector>

std::vector<std::int64_t> const primes{112272535095293, 112582705942171, 112272535095293,
                                       115280095190773, 115797848077099, 1099726899285419};

bool is_prime(std::int64_t n) {
  if (n < 2) return false;
  if (n == 2) return true;
  if (n % 2 == 0) return false;
  auto const sqrt_n = static_cast<std::int64_t>(std::floor(std::sqrt(static_cast<double>(n))));
  for (std::int64_t i = 3; i <= sqrt_n; i += 2)
    if (n % i == 0) return false;
  return true;
}
FUTURA_MPI_REGISTER(is_prime);

int main(int argc, char** argv) {
  futura::mpi::environment env(argc, argv);
  futura::mpi::run([](futura::mpi::executor& ex) {
    std::vector<futura::future<bool>> checks;
    for (auto n : primes) checks.push_back(ex.submit(futura::mpi::remote<is_prime>, n));
    std::size_t done = 0;
    for (auto const& f : futura::as_completed(checks)) {
      (void)f;
      std::clog << "progress: " << ++done << " of " << checks.size() << " checked" << std::endl;
    }
    for (std::size_t i = 0; i < primes.size(); ++i)
      std::cout << primes[i] << " is prime: " << (checks[i].result() ? "True" : "False") << '\n';
  });
}
