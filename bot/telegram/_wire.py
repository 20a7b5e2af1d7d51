"""A small HTTP/1.1 client for the broadcast hot path: keep-alive connections, POST only.

A general client (aiohttp, httpx) spends most of its time per request on
things a Bot API call does not need: header objects, cookie jars, tracing
hooks, a writer task per request. Here a request is one ``write`` of
pre-built bytes on an idle keep-alive connection and the answer is read by a
small parser (``Content-Length`` or chunked bodies). TLS is asyncio's own.
Whoever opens a ``WirePool`` closes it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from urllib.parse import urlsplit

# Idle connections older than this are closed rather than reused (servers drop
# idle keep-alive connections after a while; nginx's default is 75 s).
IDLE_SECONDS = 20.0
_MAX_HEAD = 64 * 1024


class WireError(ConnectionError):
    """The connection failed or the answer was not HTTP/1.1 we can read."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.reusable = True
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._status = 0
        self._length: int | None = None
        self._chunked = False
        self._head_done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - a stream connection
        self.transport = transport

    def send(self, request: bytes, waiter: asyncio.Future[tuple[int, bytes]]) -> None:
        if self.transport is None or self.transport.is_closing():
            msg = "connection closed"
            raise WireError(msg)
        self.waiter = waiter
        self._buffer.clear()
        self._head_done = False
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            done = self._parse()
        except WireError as exc:
            self._fail(exc)
            return
        except ValueError as exc:  # a length or chunk size that is not a number
            self._fail(WireError(f"malformed answer: {exc}"))
            return
        if done is not None and self.waiter is not None and not self.waiter.done():
            waiter, self.waiter = self.waiter, None
            waiter.set_result(done)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self.transport = None
        self._fail(
            WireError(f"connection lost: {exc!r}" if exc else "server closed the connection")
        )

    def _fail(self, exc: Exception) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.waiter = None

    def _parse(self) -> tuple[int, bytes] | None:
        buffer = self._buffer
        if not self._head_done:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    msg = "response head too large"
                    raise WireError(msg)
                return None
            self._read_head(bytes(buffer[:end]).decode("latin-1"))
            del buffer[: end + 4]
            self._head_done = True
        if self._chunked:
            return self._read_chunked()
        if self._length is None:
            msg = "response without Content-Length"  # HTTP/1.1 servers send one or chunks
            raise WireError(msg)
        if len(buffer) < self._length:
            return None
        body = bytes(buffer[: self._length])
        del buffer[: self._length]
        return self._status, body

    def _read_head(self, head: str) -> None:
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():  # noqa: PLR2004
            msg = f"not an HTTP/1.x status line: {lines[0][:80]!r}"
            raise WireError(msg)
        self._status = int(parts[1])
        self._length, self._chunked = None, False
        if parts[0] == "HTTP/1.0":
            self.reusable = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                self._length = int(value)
            elif name == "transfer-encoding":
                self._chunked = "chunked" in value.lower()
            elif name == "connection" and value.lower() == "close":
                self.reusable = False

    def _read_chunked(self) -> tuple[int, bytes] | None:
        buffer, body, pos = self._buffer, bytearray(), 0
        while True:
            end = buffer.find(b"\r\n", pos)
            if end < 0:
                return None
            size = int(bytes(buffer[pos:end]).split(b";", 1)[0].strip() or b"0", 16)
            start = end + 2
            if size == 0:  # the last chunk, then optional trailers and an empty line
                stop = buffer.find(b"\r\n\r\n", end)
                if stop < 0:
                    return None
                del buffer[: stop + 4]
                return self._status, bytes(body)
            if len(buffer) < start + size + 2:
                return None
            body += buffer[start : start + size]
            pos = start + size + 2


class WirePool:
    """POST to one HTTP(S) origin over at most ``limit`` keep-alive connections."""

    def __init__(self, base_url: str, *, limit: int = 100, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            msg = f"not an http(s) URL: {base_url!r}"
            raise ValueError(msg)
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        default = 443 if self._tls else 80
        self._authority = parts.netloc.rpartition("@")[2] if self._port != default else self._host
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(limit)
        self._open: set[_Connection] = set()
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if self._tls else None
        self._closed = False

    def request_head(self, path: str) -> bytes:
        """Return the fixed part of a JSON POST's head to ``path`` (below the base URL)."""
        return (
            f"POST {self._prefix}{path} HTTP/1.1\r\nHost: {self._authority}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
        ).encode("latin-1")

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        """Send one POST (``head`` from ``request_head``); return the status and body.

        Raises:
            WireError: the connection failed or closed before the whole answer came.
            TimeoutError: no answer within the timeout.
        """
        if self._closed:
            msg = "the connection pool is closed"
            raise WireError(msg)
        request = b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body)
        async with self._slots:
            connection = await self._connection()
            waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
            try:
                connection.send(request, waiter)
                async with asyncio.timeout(self._timeout):
                    answer = await waiter
            except BaseException:
                self._drop(connection)
                raise
            if connection.reusable and not self._closed:
                connection.idle_since = time.monotonic()
                self._idle.append(connection)
            else:
                self._drop(connection)
            return answer

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable and now - connection.idle_since < IDLE_SECONDS:
                return connection
            self._drop(connection)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                _, connection = await loop.create_connection(
                    _Connection,
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._tls else None,
                )
        except OSError as exc:
            msg = f"cannot connect: {exc}"
            raise WireError(msg) from exc
        self._open.add(connection)
        return connection

    def _drop(self, connection: _Connection) -> None:
        connection.reusable = False
        self._open.discard(connection)
        if connection.transport is not None:
            connection.transport.close()

    async def aclose(self) -> None:
        """Close every connection; later requests fail."""
        self._closed = True
        self._idle.clear()
        for connection in list(self._open):
            self._drop(connection)
        # Let the transports finish closing before the loop may go away.
        await asyncio.sleep(0)
