#!/usr/bin/env python3
"""Runs a program and checks its exit code and output (a CTest test for the examples).

    scripts/check_output.py [--timeout S] [--expect REGEX]... -- PROGRAM [ARGS...]

Passes when PROGRAM exits 0 within the timeout (default 20 s) and every REGEX matches a
line of its standard output, in the order given (a later REGEX matches a later line).
"""

import argparse
import re
import subprocess
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--expect", action="append", default=[], metavar="REGEX")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("no program given")

    try:
        run = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired as e:
        print(e.stdout or "", end="")
        print(f"FAIL: still running after {args.timeout} s")
        return 1
    print(run.stdout, end="")
    if run.returncode != 0:
        print(f"FAIL: exit code {run.returncode}")
        return 1
    lines = run.stdout.splitlines()
    at = 0
    for pattern in args.expect:
        regex = re.compile(pattern)
        while at < len(lines) and not regex.search(lines[at]):
            at += 1
        if at == len(lines):
            print(f"FAIL: no line (in order) matches {pattern!r}")
            return 1
        at += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
