#!/usr/bin/env python3
"""Runs bench_futura and prints the ratios the issue sets targets for.

    bench/ratios.py build/bench/bench/bench_futura [benchmark flags...]
    bench/ratios.py --json saved.json          # a saved --benchmark_format=json run

Flags after the binary go to it, e.g. --benchmark_repetitions=5 --benchmark_min_time=0.2;
with repetitions the medians are used. Every figure comes from items_per_second (round
trips or tasks per second), so a time ratio is the inverse rate ratio. Exits 1 if a target
is missed and --check is given.
"""

import argparse
import json
import subprocess
import sys

# (label, numerator, denominator, kind, target): kind "time" means numerator time /
# denominator time (lower is better, target is a maximum); "rate" means numerator rate /
# denominator rate (higher is better, target is a minimum). target None: for information.
RATIOS = [
    ("round trip: futura / boost::promise (time)", "round_trip/futura",
     "round_trip/boost_promise", "time", 0.4),
    ("round trip: futura / std::promise (time)", "round_trip/futura",
     "round_trip/std_promise", "time", None),
    ("round trip + callback: futura / boost then(sync) (time)", "round_trip_callback/futura",
     "round_trip_callback/boost_then", "time", None),
    ("pool: futura executor / raw post floor, 1 submitter (tasks/s)",
     "pool/futura_executor/workers:2/submitters:1", "pool/raw_post/workers:2/submitters:1",
     "rate", 0.9),
    ("pool: futura executor / raw post floor, 4 submitters (tasks/s)",
     "pool_submitters/futura_executor/workers:2/submitters:4",
     "pool_submitters/raw_post/workers:2/submitters:4", "rate", 0.8),
    ("pool: futura executor / asio use_future (tasks/s)",
     "pool/futura_executor/workers:2/submitters:1",
     "pool/asio_use_future/workers:2/submitters:1", "rate", None),
    ("pool: futura::submit(asio pool) / raw post floor (tasks/s)",
     "pool/futura_submit/workers:2/submitters:1", "pool/raw_post/workers:2/submitters:1",
     "rate", None),
    # futura as an Asio completion token (bench_asio.cpp)
    ("co_await: futura (done by the loop) / post+use_awaitable (time)", "await/futura_post",
     "await/post_use_awaitable", "time", None),
    ("co_await: loop future set by a posted handler / post+use_awaitable (time)",
     "await/futura_loop_set", "await/post_use_awaitable", "time", 1.3),
    ("co_await: loop future set by a posted handler / its floor, two posts (time)",
     "await/futura_loop_set", "await/two_posts", "time", None),
    ("co_await: futura (already done) / post+use_awaitable (time)", "await/futura_ready",
     "await/post_use_awaitable", "time", None),
    ("post op: futura::use_future / plain callback (time)", "op_post/futura",
     "op_post/callback", "time", 1.25),
    ("post op: futura::use_future / asio::use_future (ops/s)", "op_post/futura",
     "op_post/asio_use_future", "rate", 3.0),
    # An expired timer costs a timerfd wake-up in the kernel (~17 us): every token is lost
    # in it, so these are for information; the targets apply to the post operation.
    ("timer op: futura::use_future / plain callback (time)", "op_timer/futura",
     "op_timer/callback", "time", None),
    ("timer op: futura::use_future / asio::use_future (ops/s)", "op_timer/futura",
     "op_timer/asio_use_future", "rate", None),
    ("TCP echo: futura::use_future / use_awaitable (time)", "tcp_echo/futura",
     "tcp_echo/use_awaitable", "time", 1.1),
]


def load(args):
    if args.json:
        with open(args.json) as f:
            return json.load(f)
    cmd = [args.binary, "--benchmark_format=json", *args.flags]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


def rates(report):
    """name -> items_per_second; the median when there are repetitions."""
    plain, medians = {}, {}
    for b in report["benchmarks"]:
        name = b.get("run_name", b["name"]).removesuffix("/real_time")
        if "items_per_second" not in b:
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = b["items_per_second"]
        else:
            plain.setdefault(name, []).append(b["items_per_second"])
    out = {n: sorted(v)[len(v) // 2] for n, v in plain.items()}  # median if no aggregate
    out.update(medians)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("binary", nargs="?", help="path to bench_futura")
    p.add_argument("--json", help="read a saved JSON report instead of running")
    p.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args, flags = p.parse_known_args()
    args.flags = flags
    if not args.binary and not args.json:
        p.error("give the bench_futura binary or --json FILE")

    r = rates(load(args))
    print(f"{'benchmark':<32} {'per second':>14} {'ns each':>10}")
    for name in sorted(r):
        print(f"{name:<32} {r[name]:>14,.0f} {1e9 / r[name]:>10.1f}")
    print()

    missed = False
    for label, num, den, kind, target in RATIOS:
        if num not in r or den not in r:
            print(f"{label}: not measured")
            continue
        if kind == "time":
            ratio, ok, want = r[den] / r[num], None, f"<= {target}x" if target else ""
            if target:
                ok = ratio <= target
        else:
            ratio, ok, want = r[num] / r[den], None, f">= {target}x" if target else ""
            if target:
                ok = ratio >= target
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        missed |= ok is False
        print(f"{label:<66} {ratio:6.2f}x  {want:<8} {verdict}")
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
