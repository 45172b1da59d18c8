#!/usr/bin/env python3
"""Python's gather / as_completed per future, beside futura's (bench/bench_gather.cpp).

    bench/python_gather.py                                  # Python only
    bench/python_gather.py --futura build/bench/bench/bench_futura [benchmark flags...]
    bench/python_gather.py --futura-json saved.json         # a saved bench_futura JSON run
    bench/python_gather.py --sizes 1000,100000 --check ...
    bench/python_gather.py --python-out py.json ...        # keep Python's figures
    bench/python_gather.py --python-json py.json --futura-json other.json

Measures, for N = 1,000 / 100,000 / 1,000,000 (the same cases as bench_gather.cpp):

  gather/ready         asyncio.gather(*fs) over N done asyncio futures, awaited
  gather/pending       asyncio.gather(*fs) over N pending futures, each then set_result()
                       (in order, in the loop's thread), the gather awaited
  as_completed/ready   concurrent.futures.as_completed(fs) over N finished futures
  as_completed/pending as_completed(fs) over N pending futures set after the generator
                       has hooked onto them (one is finished first so that its first
                       next() returns; the rest are set on the same thread), iterated
  set/pending          the floor: set_result() on N concurrent futures nobody waits for

Futures are made outside the timed region; the best of --repeat runs is kept (the minimum
is the least disturbed by the rest of the machine). With futura's figures it prints both
side by side and checks the targets, at the largest N (1M): futura's per-future cost at most
40 ns for ready futures and 60 ns for pending ones, flat in N (within 1.5x of N = 1k), and
Python's per-future cost at least 100x futura's. --check: exit 1 if one is missed.
"""

import argparse
import asyncio
import concurrent.futures as cf
import gc
import json
import subprocess
import sys
import time

CASES = ["gather/ready", "gather/pending", "as_completed/ready", "as_completed/pending"]
FLOOR = "set/pending"
# At the largest N: the most ns per future (ready, pending), the most 1M / 1k, the least
# Python / futura.
TARGET_NS = {"ready": 40.0, "pending": 60.0}
FLAT_X, FASTER_X = 1.5, 100.0


def timed(fn):
    """Runs fn() (which sets up, then returns a callable to time) with the GC paused."""
    work = fn()
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        work()
        return time.perf_counter_ns() - t0
    finally:
        gc.enable()


def asyncio_gather(n, pending):
    loop = asyncio.new_event_loop()
    try:
        fs = [loop.create_future() for _ in range(n)]
        if not pending:
            for i, f in enumerate(fs):
                f.set_result(i)

        async def body():
            g = asyncio.gather(*fs)
            if pending:
                for i, f in enumerate(fs):
                    f.set_result(i)
            return await g

        coro = body()
        gc.collect()
        gc.disable()
        t0 = time.perf_counter_ns()
        loop.run_until_complete(coro)
        return time.perf_counter_ns() - t0
    finally:
        gc.enable()
        loop.close()


def cf_as_completed(n, pending):
    fs = [cf.Future() for _ in range(n)]
    if not pending:
        for i, f in enumerate(fs):
            f.set_result(i)

        def work():
            for f in cf.as_completed(fs):
                pass
        return timed(lambda: work)

    def work():
        fs[0].set_result(0)
        it = cf.as_completed(fs)
        next(it)  # hooks a waiter onto every future, yields fs[0]
        for i in range(1, n):
            fs[i].set_result(i)
        for f in it:
            pass
    return timed(lambda: work)


def cf_set(n):
    fs = [cf.Future() for _ in range(n)]

    def work():
        for i, f in enumerate(fs):
            f.set_result(i)
    return timed(lambda: work)


def measure_python(sizes, repeat):
    runs = {
        "gather/ready": lambda n: asyncio_gather(n, False),
        "gather/pending": lambda n: asyncio_gather(n, True),
        "as_completed/ready": lambda n: cf_as_completed(n, False),
        "as_completed/pending": lambda n: cf_as_completed(n, True),
        FLOOR: cf_set,
    }
    out = {}
    for case, run in runs.items():
        for n in sizes:
            reps = repeat if n < 1_000_000 else max(1, repeat // 2)
            best = min(run(n) for _ in range(reps))
            out[f"{case}/{n}"] = best / n
            print(f"  python {case}/{n}: {best / n:,.1f} ns per future", file=sys.stderr)
    return out


def futura_ns(report):
    """name -> ns per future from bench_futura's JSON (the median over repetitions)."""
    plain, medians = {}, {}
    for b in report["benchmarks"]:
        name = b.get("run_name", b["name"]).removesuffix("/real_time")
        if "items_per_second" not in b:
            continue
        ns = 1e9 / b["items_per_second"]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = ns
        else:
            plain.setdefault(name, []).append(ns)
    out = {n: sorted(v)[len(v) // 2] for n, v in plain.items()}
    out.update(medians)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--futura", help="bench_futura binary to run (gather cases only)")
    p.add_argument("--futura-json", help="a saved bench_futura --benchmark_format=json run")
    p.add_argument("--sizes", default="1000,100000,1000000")
    p.add_argument("--repeat", type=int, default=5, help="Python runs per case (best kept)")
    p.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    p.add_argument("--python-out", help="also save Python's figures (JSON) to this file")
    p.add_argument("--python-json", help="reuse Python's figures saved by --python-out")
    args, flags = p.parse_known_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    fut = {}
    if args.futura_json:
        with open(args.futura_json) as f:
            fut = futura_ns(json.load(f))
    elif args.futura:
        cmd = [args.futura, "--benchmark_format=json",
               "--benchmark_filter=^(gather|as_completed|set)/(ready|pending)/", *flags]
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        fut = futura_ns(json.loads(out))

    if args.python_json:
        with open(args.python_json) as f:
            py = json.load(f)
    else:
        py = measure_python(sizes, args.repeat)
    if args.python_out:
        with open(args.python_out, "w") as f:
            json.dump(py, f, indent=1)

    print(f"{'case':<28} {'python ns':>10} {'futura ns':>10} {'py/futura':>10}")
    for case in CASES + [FLOOR]:
        for n in sizes:
            key = f"{case}/{n}"
            f = fut.get(key)
            ratio = f"{py[key] / f:9.0f}x" if f else ""
            fs = f"{f:10.1f}" if f else f"{'-':>10}"
            print(f"{key:<28} {py[key]:10.1f} {fs} {ratio:>10}")
    if not fut:
        return 0

    print()
    missed = False

    def verdict(ok):
        nonlocal missed
        missed |= not ok
        return "met" if ok else "MISSED"

    lo, hi = min(sizes), max(sizes)
    for case in CASES:
        keys = [f"{case}/{n}" for n in sizes if f"{case}/{n}" in fut]
        if not keys:
            continue
        top = f"{case}/{hi}"
        if top not in fut:
            continue
        limit = TARGET_NS[case.split("/")[1]]
        print(f"{case:<22} N={hi:,}: {fut[top]:6.1f} ns per future   (<= {limit:.0f} ns)    "
              f"{verdict(fut[top] <= limit)}")
        if f"{case}/{lo}" in fut:
            flat = fut[top] / fut[f"{case}/{lo}"]
            print(f"{case:<22} N={hi:,} / N={lo:,}: {flat:5.2f}x   (<= {FLAT_X}x)    "
                  f"{verdict(flat <= FLAT_X)}")
        faster = py[top] / fut[top]
        print(f"{case:<22} python / futura at N={hi:,}: {faster:5.0f}x   (>= {FASTER_X:.0f}x)    "
              f"{verdict(faster >= FASTER_X)}")
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
