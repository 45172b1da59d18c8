#!/usr/bin/env python3
"""Checks a C++ copy of Python's random module against Python's own (a CTest test).

    scripts/check_python_random.py PROGRAM [SEED...]

Runs `PROGRAM --selftest SEED...` and compares its lines with what Python's random module
draws for the same seeds: per seed, uniform(0.5, 2.0), six choice([True, False]), four
choice(range(5)) (rejection sampling: 3 bits, values >= 5 redrawn) and random(), floats as
%.17g (every bit of the double). Used by example/multi_task_processing.cpp, which must draw
the numbers the seed program draws.
"""
import random
import subprocess
import sys

DEFAULT_SEEDS = ["0", "1", "5", "30", "42", "-7", "4294967295", "4294967296",
                 "12345678901234567", "18446744073709551615"]


def expected(seed):
    r = random.Random(int(seed))
    parts = [f"seed {seed}:", "%.17g" % r.uniform(0.5, 2.0)]
    parts += [str(r.choice([True, False])) for _ in range(6)]
    parts += [str(r.choice(range(5))) for _ in range(4)]
    parts.append("%.17g" % r.random())
    return " ".join(parts)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    seeds = sys.argv[2:] or DEFAULT_SEEDS
    run = subprocess.run([sys.argv[1], "--selftest", *seeds], stdout=subprocess.PIPE,
                         text=True, timeout=60)
    if run.returncode != 0:
        print(run.stdout, end="")
        print(f"FAIL: exit code {run.returncode}")
        return 1
    got = run.stdout.splitlines()
    want = [expected(s) for s in seeds]
    bad = 0
    for w, g in zip(want, got + [""] * len(want)):
        if w != g:
            bad += 1
            print(f"python: {w}\nc++:    {g}")
    if len(got) != len(want) or bad:
        print(f"FAIL: {bad} of {len(want)} seeds differ")
        return 1
    print(f"{len(want)} seeds: the same draws as Python's random module")
    return 0


if __name__ == "__main__":
    sys.exit(main())
