"""The template sandbox: Jinja2's immutable sandbox, safe filters, checked arithmetic, a deadline.

Every operation a template can perform at render time passes through here:
arithmetic (``call_binop``) and the allow-listed filters check the render's
deadline, check arguments whose cost grows with their value before the call
(``|round``'s precision is a power of ten; a deadline cannot interrupt one
Python call) and refuse results that would be huge (repeated text,
printf-style ``%`` padding, numbers beyond ``MAX_INT_BITS``). There are no
globals: ``range``, ``lipsum``, ``cycler``, ``joiner``, ``namespace`` and
``dict`` do not exist in here. The deadline is cooperative; the hard limit is
the render worker process, killed when a render overruns (``render_pool``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jinja2 import StrictUndefined
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.runtime import Context as JinjaContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS as JINJA_TESTS

from bot.campaigns.template_rules import (
    FILTERS,
    MAX_INT_BITS,
    MAX_PRECISION,
    NUMBER_TOO_BIG,
    ROUND_PRECISION,
    TESTS,
)
from bot.errors import TemplateError
from bot.i18n import N_

MAX_OUTPUT = 4096
# Cooperative: checked between operations. Half the hard limit of the worker process, so a
# slow template is normally stopped here, with its reason, before the process is killed.
RENDER_SECONDS = 0.5
MAX_NUMBER_BITS = 64
MAX_EXPONENT = 64

TOO_LONG = N_("The message would be longer than Telegram's 4,096 characters.")
TOO_SLOW = N_("The template takes too long to fill in.")
NOT_NUMBERS = N_("Only numbers can be multiplied in a template.")
__all__ = ["NUMBER_TOO_BIG", "ROUND_PRECISION"]

Clock = Callable[[], float]
_DEADLINE: ContextVar[tuple[Clock, float] | None] = ContextVar("template_deadline", default=None)


@contextmanager
def deadline(clock: Clock) -> Iterator[None]:
    """Give the renders inside the block ``RENDER_SECONDS`` by ``clock``."""
    token = _DEADLINE.set((clock, clock() + RENDER_SECONDS))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def tick() -> None:
    """Stop a render that has run past its deadline.

    Raises:
        TemplateError: when the deadline has passed.
    """
    current = _DEADLINE.get()
    if current is not None and current[0]() > current[1]:
        raise TemplateError(TOO_SLOW)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox with every arithmetic operator routed through size and time checks."""

    intercepted_binops = frozenset({"*", "**", "%", "/", "//", "+", "-"})

    def call_binop(self, context: JinjaContext, operator: str, left: Any, right: Any) -> Any:
        """Apply an arithmetic operator within the number and time limits."""
        tick()
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        if operator in ("*", "**", "%") and not numbers:
            # Repeating text, or printf-style "%" formatting with a huge width.
            raise TemplateError(NOT_NUMBERS)
        if isinstance(left, int) and isinstance(right, int):
            _check_ints(operator, left, right)
        return _checked(self.binop_table[operator](left, right))


def _check_ints(operator: str, left: int, right: int) -> None:
    if operator == "*" and abs(left).bit_length() + abs(right).bit_length() > MAX_NUMBER_BITS:
        raise TemplateError(NUMBER_TOO_BIG)
    if operator == "**" and (
        abs(right) > MAX_EXPONENT or abs(left).bit_length() * abs(right) > MAX_NUMBER_BITS
    ):
        raise TemplateError(NUMBER_TOO_BIG)


def _checked(result: Any) -> Any:
    """Return a result only when it is small: text, lists and whole numbers are bounded."""
    if isinstance(result, str | list | tuple) and len(result) > MAX_OUTPUT:
        raise TemplateError(TOO_LONG)
    if isinstance(result, int) and abs(result).bit_length() > MAX_INT_BITS:
        raise TemplateError(NUMBER_TOO_BIG)
    return result


def _round(value: Any, precision: Any = 0, method: Any = "common") -> Any:
    # Jinja computes 10**precision (and Python's round does for whole numbers): a huge
    # precision is one call that no deadline can interrupt, so it is refused first.
    if not isinstance(precision, int) or abs(precision) > MAX_PRECISION:
        raise TemplateError(ROUND_PRECISION)
    return JINJA_FILTERS["round"](value, precision, method)


def _int(value: Any, default: Any = 0, base: Any = 10) -> Any:
    # int() of text longer than Python's digit limit fails fast; a float such as 1e308
    # becomes a 1,024-bit number, refused by _checked like any other huge number.
    if isinstance(value, str) and len(value) > MAX_OUTPUT:
        raise TemplateError(TOO_LONG)
    return JINJA_FILTERS["int"](value, default, base)


# Filters whose arguments are checked before Jinja's own implementation runs.
_BOUNDED: dict[str, Callable[..., Any]] = {"round": _round, "int": _int}


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)  # keeps Jinja's pass_environment marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        tick()
        return _checked(func(*args, **kwargs))

    return guarded


def _build_environment() -> _Sandbox:
    env = _Sandbox(
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # No constant folding at compile time: every operation runs under the checks.
        optimized=False,
        auto_reload=False,
        cache_size=0,
    )
    env.globals.clear()
    env.filters = {name: _guarded(_BOUNDED.get(name, JINJA_FILTERS[name])) for name in FILTERS}
    env.tests = {name: JINJA_TESTS[name] for name in TESTS}
    return env


ENV = _build_environment()
