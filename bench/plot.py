#!/usr/bin/env python3
"""Turns a bench_futura JSON run (and Python's gather figures) into the SVG plots of docs/.

    bench/plot.py --futura-json run.json --python-json py.json --out docs/ \\
                  --caption "commit abc1234, Debian 12, 2 cores"

run.json: `bench_futura --benchmark_format=json` (repetitions allowed: medians are used);
py.json: `bench/python_gather.py --python-out py.json`. Needs matplotlib (Debian's
python3-matplotlib; scripts/bench.sh --plot installs it). Writes:

  gather_per_future.svg  ns per future against N, log-log: futura's four gather and
                         as_completed cases beside asyncio.gather and cf.as_completed
  pool_workers.svg       pool tasks/s against workers (1 submitter)
  pool_submitters.svg    pool tasks/s with 1 and 4 submitting threads (2 workers)
  ratios.svg             round trips (ns) and futura-as-Asio-token ratios
"""

import argparse
import json
import os
import re

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "futura"  # stable ids: the SVGs diff cleanly between runs

GATHER_CASES = ["gather/ready", "gather/pending", "as_completed/ready", "as_completed/pending"]
PYTHON_PEERS = {"gather/pending": "asyncio.gather (pending)",
                "as_completed/pending": "cf.as_completed (pending)",
                "gather/ready": "asyncio.gather (ready)",
                "as_completed/ready": "cf.as_completed (ready)"}
POOL = ["raw_post", "asio_use_future", "futura_executor", "futura_submit"]
POOL_LABELS = {"raw_post": "asio::post (floor)", "asio_use_future": "asio::use_future",
               "futura_executor": "futura::thread_pool_executor",
               "futura_submit": "futura::submit(asio::thread_pool)"}


def rates(report):
    """name -> items per second: the median over repetitions, else the median of runs."""
    plain, medians = {}, {}
    for b in report["benchmarks"]:
        if "items_per_second" not in b:
            continue
        name = b.get("run_name", b["name"]).removesuffix("/real_time")
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = b["items_per_second"]
        else:
            plain.setdefault(name, []).append(b["items_per_second"])
    out = {n: sorted(v)[len(v) // 2] for n, v in plain.items()}
    out.update(medians)
    return out


def finish(fig, ax, path, caption):
    if caption:
        fig.text(0.99, 0.01, caption, ha="right", va="bottom", fontsize=7, color="gray")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)
    print(f"wrote {path}")


def plot_gather(r, py, out, caption):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for case in GATHER_CASES:
        pts = sorted((int(m.group(1)), 1e9 / v) for k, v in r.items()
                     if (m := re.fullmatch(re.escape(case) + r"/(\d+)", k)))
        if pts:
            ax.plot(*zip(*pts), marker="o", label=f"futura {case}")
    for case, label in PYTHON_PEERS.items():
        pts = sorted((int(m.group(1)), v) for k, v in py.items()
                     if (m := re.fullmatch(re.escape(case) + r"/(\d+)", k)))
        if pts:
            ax.plot(*zip(*pts), marker="s", linestyle="--", label=f"Python {label}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("futures per call (N)")
    ax.set_ylabel("ns per future")
    ax.set_title("gather / as_completed: cost per future")
    ax.legend(fontsize=7, ncol=2)
    finish(fig, ax, os.path.join(out, "gather_per_future.svg"), caption)


def plot_pool_workers(r, out, caption):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for c in POOL:
        pts = sorted((int(m.group(1)), v) for k, v in r.items()
                     if (m := re.fullmatch(rf"pool_workers/{c}/workers:(\d+)/submitters:1", k)))
        if pts:
            ax.plot(*zip(*pts), marker="o", label=POOL_LABELS[c])
    ax.set_xscale("log", base=2)
    ax.set_xlabel("worker threads")
    ax.set_ylabel("tasks per second")
    ax.set_ylim(bottom=0)
    ax.set_title("pool throughput, 1,000 tiny tasks, 1 submitting thread")
    ax.legend(fontsize=8)
    finish(fig, ax, os.path.join(out, "pool_workers.svg"), caption)


def plot_pool_submitters(r, out, caption):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    width = 0.2
    for i, c in enumerate(POOL):
        vals = [r.get(f"pool/{c}/workers:2/submitters:1", 0),
                r.get(f"pool_submitters/{c}/workers:2/submitters:4", 0)]
        ax.bar([x + i * width for x in (0, 1)], vals, width, label=POOL_LABELS[c])
    ax.set_xticks([0 + 1.5 * width, 1 + 1.5 * width], ["1 submitting thread", "4 submitting threads"])
    ax.set_ylabel("tasks per second")
    ax.set_title("pool throughput, 2 workers")
    ax.legend(fontsize=8)
    finish(fig, ax, os.path.join(out, "pool_submitters.svg"), caption)


def plot_ratios(r, out, caption):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.5))
    trips = [("futura", "round_trip/futura"), ("std::promise", "round_trip/std_promise"),
             ("boost::promise", "round_trip/boost_promise"),
             ("futura + callback", "round_trip_callback/futura"),
             ("boost then", "round_trip_callback/boost_then")]
    trips = [(lbl, 1e9 / r[k]) for lbl, k in trips if k in r]
    a1.barh([t[0] for t in trips], [t[1] for t in trips])
    a1.set_xlabel("ns per round trip (lower is better)")
    a1.set_title("promise → future → set → get")
    tokens = [("co_await loop future", "await/futura_loop_set", "await/post_use_awaitable"),
              ("co_await post(use_future)", "await/futura_post", "await/post_use_awaitable"),
              ("post op, use_future", "op_post/futura", "op_post/callback"),
              ("TCP echo", "tcp_echo/futura", "tcp_echo/use_awaitable")]
    tokens = [(lbl, r[p] / r[f]) for lbl, f, p in tokens if f in r and p in r]
    a2.barh([t[0] for t in tokens], [t[1] for t in tokens])
    a2.axvline(1.0, color="black", linewidth=0.8)
    a2.set_xlabel("time ratio to Asio's own (1.0 = as fast)")
    a2.set_title("futura as an Asio completion token")
    for ax in (a1, a2):
        ax.grid(True, axis="x", alpha=0.3)
    finish(fig, a2, os.path.join(out, "ratios.svg"), caption)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--futura-json", required=True)
    p.add_argument("--python-json", help="Python's gather figures (python_gather.py --python-out)")
    p.add_argument("--out", default="docs")
    p.add_argument("--caption", default="")
    a = p.parse_args()
    with open(a.futura_json) as f:
        r = rates(json.load(f))
    py = {}
    if a.python_json:
        with open(a.python_json) as f:
            py = json.load(f)
    os.makedirs(a.out, exist_ok=True)
    plot_gather(r, py, a.out, a.caption)
    plot_pool_workers(r, a.out, a.caption)
    plot_pool_submitters(r, a.out, a.caption)
    plot_ratios(r, a.out, a.caption)


if __name__ == "__main__":
    main()
