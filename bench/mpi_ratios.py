#!/usr/bin/env python3
"""futura::mpi beside mpi4py.futures: runs both benchmarks under the same mpirun, in turn.

    bench/mpi_ratios.py BENCH_MPI [--runs 5] [--np 3] [--tasks 20000] [-- extra bench_mpi args]

BENCH_MPI is the built bench/bench_mpi.cpp; mpi4py's side is bench/mpi4py_bench.py run by
Debian's /usr/bin/python3 (python3-mpi4py). Runs alternate (futura, mpi4py, futura, ...),
so that the machine's load of the moment weighs on both. Prints, per measurement, the
median tasks/s and root CPU of each, and the ratio of the medians.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

LINE = re.compile(r"^(\w+) (\d+) tasks ([\d.]+) s (\d+) tasks/s root-cpu (\d+)%$")


def run(cmd, env):
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, check=True,
                         timeout=600).stdout
    rows = {}
    for line in out.splitlines():
        m = LINE.match(line.strip())
        if m:
            rows[m.group(1)] = (int(m.group(4)), int(m.group(5)))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bench_mpi")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--np", type=int, default=3)
    p.add_argument("--tasks", type=int, default=20000)
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    a = p.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    env = dict(os.environ)
    if os.geteuid() == 0:  # Open MPI runs as root only when told so
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    mpirun = ["mpirun", "--oversubscribe", "-np", str(a.np)]
    here = os.path.dirname(os.path.abspath(__file__))
    ours = mpirun + [a.bench_mpi, str(a.tasks)] + extra
    theirs = mpirun + ["/usr/bin/python3", os.path.join(here, "mpi4py_bench.py"), str(a.tasks)]
    f, m = {}, {}
    for i in range(a.runs):
        for name, cmd, into in (("futura", ours, f), ("mpi4py", theirs, m)):
            for k, v in run(cmd, env).items():
                into.setdefault(k, []).append(v)
            print(f"run {i + 1}/{a.runs}: {name} done", file=sys.stderr)

    def med(rows, k, j):
        return statistics.median(r[j] for r in rows[k]) if k in rows else float("nan")

    print(f"{'measurement':22} {'futura tasks/s':>15} {'mpi4py tasks/s':>15} {'ratio':>7}"
          f" {'futura root CPU':>16} {'mpi4py root CPU':>16}")
    for k in f:
        ft, mt = med(f, k, 0), med(m, k, 0)
        ratio = f"{ft / mt:.1f}x" if mt else "-"
        print(f"{k:22} {ft:15.0f} {mt:15.0f} {ratio:>7} {med(f, k, 1):15.0f}% {med(m, k, 1):15.0f}%")


if __name__ == "__main__":
    main()
