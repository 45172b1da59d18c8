#!/usr/bin/python3
"""mpi4py.futures.MPICommExecutor beside bench/bench_mpi.cpp: the same trivial remote call.

    mpirun --oversubscribe -np 3 /usr/bin/python3 bench/mpi4py_bench.py [N]

Prints one line per measurement, in bench_mpi's format:
    <name> <tasks> tasks <seconds> s <tasks/s> tasks/s root-cpu <percent>%
submit_result: N submits, then every result in order (throughput through the executor);
submit_wait_each: submit one, wait for its result, N / 10 times (round-trip latency);
map_chunk100: map(f, range(N * 10), chunksize=100), consumed in order;
idle_wait_1s: one remote call that sleeps for a second: what the root burns waiting;
idle_nothing_out_1s: the root's own work for a second, no call out: what the executor costs.
"""
import resource
import sys
import time

from mpi4py import MPI
from mpi4py.futures import MPICommExecutor


def trivial(x):
    return x + 1


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(name, tasks, body):
    c0, t0 = cpu_seconds(), time.perf_counter()
    body()
    t, c = time.perf_counter() - t0, cpu_seconds() - c0
    print(f"{name} {tasks} tasks {t:.3f} s {tasks / t:.0f} tasks/s root-cpu {100 * c / t:.0f}%",
          flush=True)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with MPICommExecutor(MPI.COMM_WORLD, root=0) as ex:
        if ex is None:
            return
        ex.submit(trivial, 0).result()  # workers up

        def submit_result():
            fs = [ex.submit(trivial, i) for i in range(n)]
            for f in fs:
                f.result()

        def submit_wait_each():
            for i in range(n // 10):
                ex.submit(trivial, i).result()

        def map_chunk100():
            for _ in ex.map(trivial, range(n * 10), chunksize=100):
                pass

        measure("submit_result", n, submit_result)
        measure("submit_wait_each", n // 10, submit_wait_each)
        measure("map_chunk100", n * 10, map_chunk100)

        # Root CPU while one remote call runs for a second: the executor's idle cost.
        measure("idle_wait_1s", 1, lambda: ex.submit(time.sleep, 1.0).result())
        measure("idle_nothing_out_1s", 0, lambda: time.sleep(1.0))


if __name__ == "__main__":
    main()
