"""The render worker process: fills in admin-written templates, one result line per recipient.

Run as ``python -m bot.campaigns.render_worker PARENT_PID`` by ``render_pool``.
It reads one JSON request per line on stdin (``{"sources": [...], "rows":
[[source index, variables], ...]}``) and answers each row with one JSON line
on stdout as soon as it is done: ``[1, text]`` or ``[0, reason, params]``.
Answering row by row is what lets the parent, which kills this process when a
row overruns, tell which recipient's render was stuck. Every source is
checked again here before it is compiled, and compiled once per process.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
from collections import OrderedDict
from typing import IO, Any

from bot.campaigns import templates
from bot.errors import InvalidInput, TemplateError

READY = b'{"ready": true}\n'
# A render needs a few megabytes; this stops a runaway allocation with a MemoryError
# long before the machine starts swapping.
MEMORY_LIMIT = 1 << 30
# The worker runs behind the bot's own event loop on a shared machine.
NICENESS = 5
COMPILED_KEPT = 64
_PR_SET_PDEATHSIG = 1


def main() -> None:
    """Serve render requests until stdin closes."""
    out = _protocol_stream()
    _limit_self()
    out.write(READY)
    out.flush()
    compiled: OrderedDict[str, templates.Compiled | InvalidInput] = OrderedDict()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        sources: list[str] = request["sources"]
        for index, variables in request["rows"]:
            out.write(_answer(_compiled(compiled, sources[index]), variables))
            out.flush()


def _answer(compiled: templates.Compiled | InvalidInput, variables: dict[str, Any]) -> bytes:
    if isinstance(compiled, InvalidInput):
        answer: list[object] = [0, compiled.key, _plain(compiled.params)]
    else:
        try:
            answer = [1, templates.render(compiled, variables)]
        except TemplateError as exc:
            answer = [0, exc.reason, {}]
    return json.dumps(answer, ensure_ascii=False).encode() + b"\n"


def _compiled(
    cache: OrderedDict[str, templates.Compiled | InvalidInput], source: str
) -> templates.Compiled | InvalidInput:
    found = cache.get(source)
    if found is None:
        try:
            found = templates.compile_template(source)
        except InvalidInput as exc:
            found = exc
        cache[source] = found
        if len(cache) > COMPILED_KEPT:
            cache.popitem(last=False)
    else:
        cache.move_to_end(source)
    return found


def _plain(params: dict[str, object]) -> dict[str, object]:
    return {k: v if isinstance(v, int | float) else str(v) for k, v in params.items()}


def _protocol_stream() -> IO[bytes]:
    """Keep stdout for answers only: anything else printed goes to stderr."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return out


def _limit_self() -> None:
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    # Die with the bot: a killed parent must not leave a worker spinning (Linux only).
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    parent = sys.argv[1] if len(sys.argv) > 1 else ""
    if parent.isdigit() and os.getppid() != int(parent):  # died before prctl took effect
        sys.exit(0)


if __name__ == "__main__":
    main()
