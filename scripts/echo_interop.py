#!/usr/bin/env python3
"""Clients nobody here wrote, against example/echo_server on loopback (a CTest test).

    scripts/echo_interop.py ECHO_SERVER [ECHO_CLIENT]

Starts `echo_server --port 0 --connections N`, reads the port it prints, then talks to it
with Python asyncio clients (50 at once, one of them sending 50 kB), with OpenBSD netcat
(`nc -N`) if it is installed, and with echo_client if given. Every reply must be the exact
bytes sent, and the server must report N connections served, none failed, and exit 0 by
itself. Everything is bounded: the whole run is killed after 20 s.
"""

import asyncio
import re
import shutil
import subprocess
import sys

DEADLINE = 20.0
PY_CLIENTS = 50
ECHO_CLIENT_CONNECTIONS = 100


async def one_client(port, i):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = (b"%d " % i) * (25_000 if i == 0 else 10) + b"\n"
    writer.write(payload)
    await writer.drain()
    writer.write_eof()  # the server echoes everything, then sees EOF and closes
    got = await reader.read()  # until the server closes
    writer.close()
    await writer.wait_closed()
    if got != payload:
        raise AssertionError(f"client {i}: sent {len(payload)} bytes, got {len(got)} back")
    return len(got)


async def python_clients(port):
    sizes = await asyncio.gather(*(one_client(port, i) for i in range(PY_CLIENTS)))
    print(f"asyncio: {len(sizes)} clients, {sum(sizes)} bytes echoed")


def netcat(port):
    text = b"hello from netcat\nsecond line\n"
    out = subprocess.run(["nc", "-N", "127.0.0.1", str(port)], input=text,
                         stdout=subprocess.PIPE, timeout=DEADLINE, check=True).stdout
    if out != text:
        raise AssertionError(f"nc got {out!r}")
    print("nc: echoed", len(out), "bytes")


def main():
    server_exe = sys.argv[1]
    client_exe = sys.argv[2] if len(sys.argv) > 2 else None
    have_nc = shutil.which("nc") is not None
    n = PY_CLIENTS + (1 if have_nc else 0) + (ECHO_CLIENT_CONNECTIONS if client_exe else 0)

    server = subprocess.Popen([server_exe, "--port", "0", "--connections", str(n)],
                              stdout=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)", first)
        if not m:
            raise AssertionError(f"unexpected first line from the server: {first!r}")
        port = int(m.group(1))

        asyncio.run(asyncio.wait_for(python_clients(port), DEADLINE))
        if have_nc:
            netcat(port)
        else:
            print("nc: not installed (scripts/deps.sh installs netcat-openbsd); skipped")
        if client_exe:
            subprocess.run([client_exe, "--port", str(port), "--connections",
                            str(ECHO_CLIENT_CONNECTIONS)], timeout=DEADLINE, check=True)

        rest, _ = server.communicate(timeout=DEADLINE)
        print(rest, end="")
        if server.returncode != 0:
            raise AssertionError(f"echo_server exited with {server.returncode}")
        if f"served {n} connections" not in rest or " 0 failed" not in rest:
            raise AssertionError("echo_server did not serve every connection")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
