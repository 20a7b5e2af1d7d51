"""A launcher that has imported the bot once and forks a fresh ``python -m bot ...`` per request.

Importing the bot costs seconds of CPU in every process (aiogram alone builds
hundreds of pydantic models), and the end-to-end tests start a bot a hundred
times. This process imports everything ``bot run`` needs, then waits on a Unix
socket. For each request it forks; the child takes the caller's pipes as its
stdout and stderr, the caller's environment, working directory and arguments,
and runs ``bot`` as ``__main__`` exactly as ``python -m bot`` would, up to the
interpreter's own exit (atexit handlers, non-daemon threads; see ``gc.freeze``
below for the one difference). The caller gets the child's pid, signals it
directly, and is told its exit status.

Run as ``python -m tests.e2e.zygote SOCKET_PATH``; it stops at end of input.

Protocol, per connection: the caller sends one byte with two file descriptors
(stdout, stderr), then a 4-byte big-endian length and a JSON object
``{"argv": [...], "env": {...}, "cwd": "..."}``. The launcher answers
``pid <n>\\n`` and, when the child has ended, ``exit <returncode>\\n`` (negative:
killed by that signal, as ``asyncio`` reports it).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import runpy
import selectors
import socket
import sys
from typing import Any


def _recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the caller hung up mid-request")
        data += chunk
    return data


def _serve(path: str) -> tuple[dict[str, Any], int, int] | None:
    """Fork on every request; return the request in the child, None in the launcher at EOF."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    # pidfd -> (pid, the caller's connection)
    children: dict[int, tuple[int, socket.socket]] = {}
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.data == "stdin":
                if not os.read(key.fd, 4096):
                    return None
            elif key.data == "accept":
                conn, _ = listener.accept()
                _, fds, _, _ = socket.recv_fds(conn, 1, 2)
                size = int.from_bytes(_recv_exactly(conn, 4), "big")
                request = json.loads(_recv_exactly(conn, size))
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    conn.close()
                    for pidfd, (_, other) in children.items():
                        os.close(pidfd)
                        other.close()
                    return request, fds[0], fds[1]
                for fd in fds:
                    os.close(fd)
                conn.sendall(f"pid {pid}\n".encode())
                pidfd = os.pidfd_open(pid)
                children[pidfd] = (pid, conn)
                selector.register(pidfd, selectors.EVENT_READ, "child")
            else:
                pid, conn = children.pop(key.fd)
                selector.unregister(key.fd)
                os.close(key.fd)
                _, status = os.waitpid(pid, 0)
                code = os.waitstatus_to_exitcode(status)
                with contextlib.suppress(OSError):  # the caller may be gone
                    conn.sendall(f"exit {code}\n".encode())
                conn.close()


def _become(request: dict[str, Any], stdout: int, stderr: int, imported: dict[str, str]) -> None:
    """Turn this forked child into ``python -m bot ARGS`` with the caller's pipes and settings."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    for fd in (null, stdout, stderr):
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    # What the imports put into the environment (a fresh process would have it too).
    os.environ.update({k: v for k, v in imported.items() if k not in request["env"]})
    os.chdir(request["cwd"])
    sys.argv = ["-m", *request["argv"]]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


def main() -> None:
    """Import the bot, then serve forks until end of input."""
    before = dict(os.environ)
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.ticker  # noqa: F401
    import openpyxl  # noqa: F401

    import bot.app  # noqa: F401 - the point: imported once, inherited by every fork
    import bot.cli  # noqa: F401

    # A run imports only its framework, and charts and spreadsheets their libraries,
    # when first needed; the forks inherit them all instead of importing them each time.
    import bot.crm.charts  # noqa: F401
    import bot.telegram.aiogram  # noqa: F401
    import bot.telegram.ptb  # noqa: F401

    imported = {k: v for k, v in os.environ.items() if before.get(k) != v}
    # What was imported lives as long as the process: keep the collector off it, as
    # forking servers do. The one difference from a new interpreter is at exit, which
    # skips collecting these objects (a couple of seconds after ``bot run`` with both
    # frameworks imported); tests marked ``new_interpreter`` keep the real exit.
    gc.freeze()
    request = _serve(sys.argv[1])
    if request is not None:
        _become(*request, imported)


if __name__ == "__main__":
    main()
