#!/usr/bin/env python3
"""Runs a seed's Python program and its C++ twin; fails unless they print the same lines.

The Python program is cut out of the seed texts in ../shared/seeds by name: a code block
whose first line is "# NAME.py", or, for the seeds' unnamed blocks, one that holds a line
only that program has. Lines are compared after masking what differs from run to run
(log timestamps, addresses, datetimes). Exit 77 (CTest's skip) when the seeds are absent.
"""
import argparse, difflib, os, re, subprocess, sys, tempfile

# Unnamed blocks in the seeds, told apart by a line that only they contain.
MARKERS = {
    "async_future_basic": '"Hello, Future!"',
    "async_future_callbacks": '"First Result"',
    "async_future_exception": "An error occurred in the faulty task!",
    "multi_task_processing": "Polling futures for completion",
}

MASKS = [
    (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - "), "<time> - "),
    (re.compile(r"datetime\.datetime\([^)]*\)"), "datetime.datetime(<now>)"),
    (re.compile(r"0x[0-9a-fA-F]+"), "0x<addr>"),
    (re.compile(r"will take \d+\.\d\ds"), "will take <t>s"),
]


def find_program(seeds_dir, name):
    blocks = []
    for fn in sorted(os.listdir(seeds_dir)):
        with open(os.path.join(seeds_dir, fn), encoding="utf-8", errors="replace") as f:
            blocks += re.findall(r"```python\n(.*?)```", f.read(), re.S)
    for b in blocks:
        if b.lstrip().startswith(f"# {name}.py"):
            return b
    marker = MARKERS.get(name)
    for b in blocks:
        if marker and marker in b and ("asyncio.run" in b or "__main__" in b):
            return b
    sys.exit(f"no program named {name} in {seeds_dir}")


def normalise(text):
    out = []
    for line in text.splitlines():
        for rx, rep in MASKS:
            line = rx.sub(rep, line)
        out.append(line)
    return out


def split_whole(line, known):
    """`line` as a run of known lines glued together, or None."""
    if line in known:
        return [line]
    for i in range(1, len(line)):
        if line[:i] in known:
            rest = split_whole(line[i:], known)
            if rest:
                return [line[:i]] + rest
    return None


def untear(lines, known):
    """Python's print() writes the text and the newline separately, so two threads can
    tear "a\\nb\\n" into "ab\\n\\n". Splits such lines back into the lines they hold
    (when all of them are known lines of the twin) and drops the blank lines left behind."""
    out, torn = [], 0
    for line in lines:
        parts = split_whole(line, known) if line not in known else None
        if parts and len(parts) > 1:
            out += parts
            torn += len(parts) - 1
        elif line == "" and torn > 0:  # a newline the tear displaced
            torn -= 1
        else:
            out.append(line)
    return out


def run(cmd, timeout):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if p.returncode != 0:
        sys.stdout.write(p.stdout.decode(errors="replace"))
        sys.exit(f"{cmd[0]} exited with {p.returncode}")
    return p.stdout.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--sorted", action="store_true",
                    help="compare the lines as multisets: for programs whose threads finish "
                         "in an order that varies from run to run, in Python as in C++")
    ap.add_argument("--python-prelude", default="",
                    help="Python run before the program (e.g. to seed its random numbers)")
    ap.add_argument("exe", nargs="+", help="the C++ twin and its arguments")
    a = ap.parse_args()
    if not os.path.isdir(a.seeds):
        print(f"seeds not found at {a.seeds}: skipped")
        return 77
    program = find_program(a.seeds, a.name)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(a.python_prelude + "\n" + program)
        path = f.name
    try:
        want = normalise(run([sys.executable, "-u", path], 120))
    finally:
        os.unlink(path)
    got = normalise(run(a.exe, 120))
    want = untear(want, set(got))
    if a.sorted:
        want, got = sorted(want), sorted(got)
    if want != got:
        print(f"{a.name}: the C++ twin differs from the Python program")
        sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(want, got, "python", "c++", lineterm=""))
        return 1
    print(f"{a.name}: {len(got)} lines, the same as Python's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
