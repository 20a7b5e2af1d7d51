"""Message templates: checking, compiling and rendering admin-written Jinja2 text safely.

Templates are Telegram HTML. They run in Jinja2's ``ImmutableSandboxedEnvironment``
with ``StrictUndefined`` and HTML autoescaping, see only the documented variables
(plain strings and numbers), and are bounded three ways: source length and an
allow-list of constructs when compiled (``template_rules``), bounded operations,
output length and a deadline while rendered (``template_sandbox``). Rendering
either returns the whole message or raises ``TemplateError``; half-rendered
text never leaves this module. The bot itself renders admin-written text only
in worker processes with a hard time limit (``render_pool``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from babel.dates import format_date as babel_format_date
from jinja2 import Template, TemplateSyntaxError, UndefinedError, meta

from bot.campaigns import template_html
from bot.campaigns.template_rules import UNKNOWN_VARIABLE, check_template
from bot.campaigns.template_rules import describe_variables as describe_variables
from bot.campaigns.template_rules import is_plain as is_plain_ast
from bot.campaigns.template_sandbox import ENV, MAX_OUTPUT, TOO_LONG, deadline, tick
from bot.campaigns.template_sandbox import NOT_NUMBERS as NOT_NUMBERS
from bot.campaigns.template_sandbox import NUMBER_TOO_BIG as NUMBER_TOO_BIG
from bot.campaigns.template_sandbox import TOO_SLOW as TOO_SLOW
from bot.errors import InvalidInput, TemplateError
from bot.i18n import LOCALES, N_, translate

logger = logging.getLogger(__name__)

# A template is shown back to admins inside one Telegram message with a header,
# so its source stays well under Telegram's 4,096 characters.
MAX_SOURCE = 3500
MAX_NESTING = 40

VARIABLES: Mapping[str, str] = MappingProxyType(
    {
        "first_name": N_("the customer's first name"),
        "name": N_("the customer's full name"),
        "grade": N_("the customer's value grade (A, B, C…)"),
        "owner": N_("their sales rep (or the shop's name)"),
        "points": N_("their loyalty points"),
        "merchant": N_("the shop's name"),
        "unsubscribe": N_("how to stop these messages"),
        "today": N_("today's date"),
    }
)
# Chinese names a Chinese admin may write instead: {{ 名字 }} is {{ first_name }}.
ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "名字": "first_name",
        "姓名": "name",
        "等级": "grade",
        "负责人": "owner",
        "积分": "points",
        "店名": "merchant",
        "退订": "unsubscribe",
        "今天": "today",
    }
)
# Every name a template may use, with what it holds.
NAMES: Mapping[str, str] = MappingProxyType(
    {**VARIABLES, **{alias: VARIABLES[name] for alias, name in ALIASES.items()}}
)
DEFAULT_KEYS: tuple[str, ...] = (
    "welcome",
    "birthday",
    "holiday",
    "weekly_touchpoint",
    "survey_invitation",
    "opt_out_confirmation",
    "care",
    "offer",
)
# What each built-in template is called on screens; /template takes these names too.
TEMPLATE_NAMES: dict[str, str] = {
    "welcome": N_("Welcome message"),
    "birthday": N_("Birthday greeting"),
    "holiday": N_("Holiday greeting"),
    "weekly_touchpoint": N_("Weekly touchpoint"),
    "survey_invitation": N_("Survey invitation"),
    "opt_out_confirmation": N_("Opt-out confirmation"),
    "care": N_("Care message"),
    "offer": N_("Offer"),
}
UNSUBSCRIBE_HINT = N_("Don't want these messages? Tap “Stop these messages” below.")

EMPTY = N_("The template is empty. Send the text the customer should get.")
TOO_LONG_SOURCE = N_("The template is {length} characters long; the most is {limit}.")
SYNTAX = N_("There's a mistake on line {line}: {detail}")
TOO_COMPLEX = N_("The template is nested too deeply. Keep it simple.")
EMPTY_OUTPUT = N_("The message comes out empty.")
MISSING_VALUE = N_("A variable has no value for this customer.")
BROKEN_MARKUP = N_("The message comes out with formatting Telegram can't show.")
FAILED = N_("The template can't be filled in for this customer (e.g. a division by zero).")

_SAMPLES: dict[str, dict[str, object]] = {
    "en": {"name": "Mei Chen", "owner": "Li Wei", "merchant": "Wang's Tea House"},
    "zh-CN": {"name": "陈美玲", "owner": "李伟", "merchant": "王记茶庄"},
}
_SAMPLE_DAY = date(2026, 12, 1)


@dataclass(frozen=True, slots=True, eq=False)
class Compiled:
    """A checked, compiled template, ready to render for many recipients."""

    source: str
    template: Template = field(repr=False)


def check_source(source: str) -> str:
    """Check an admin's template text without running it; return it with Unix line ends.

    Parsing and the checks take time in proportion to the text, which is capped.

    Raises:
        InvalidInput: naming the offence: an unknown variable, a forbidden
            construct, a number out of bounds, too long or bad Telegram markup.
    """
    source = source.replace("\r\n", "\n")
    if not source.strip():
        raise InvalidInput(EMPTY)
    if len(source) > MAX_SOURCE:
        raise InvalidInput(TOO_LONG_SOURCE, length=len(source), limit=MAX_SOURCE)
    try:
        ast = ENV.parse(source)
        check_template(ast, NAMES)
    except TemplateSyntaxError as exc:
        raise InvalidInput(SYNTAX, line=exc.lineno, detail=exc.message or "") from exc
    except RecursionError as exc:
        raise InvalidInput(TOO_COMPLEX) from exc
    if _depth(ast) > MAX_NESTING:
        raise InvalidInput(TOO_COMPLEX)
    unknown = sorted(meta.find_undeclared_variables(ast) - set(NAMES))
    if unknown:
        raise InvalidInput(
            UNKNOWN_VARIABLE,
            name="{{ " + unknown[0] + " }}",
            variables=describe_variables(VARIABLES),
        )
    problem = template_html.check(_markup_skeleton(source))
    if problem is not None:
        raise InvalidInput(problem.key, **problem.params)
    return source


def is_plain(source: str) -> bool:
    """Return True for a checked text that can be filled in without a worker process.

    Only text, variables and if/else on comparisons: the time it takes grows with
    the text and the values, never with a number or a loop (``template_rules``).
    """
    return is_plain_ast(ENV.parse(source))


def compile_template(source: str) -> Compiled:
    """Check an admin's template text and compile it, without rendering anything.

    Raises:
        InvalidInput: as ``check_source``.
    """
    source = check_source(source)
    return Compiled(source, ENV.from_string(source))


def check_samples(compiled: Compiled) -> None:
    """Render a compiled template for the sample customer in every language, in this process.

    Only for code that has no render worker (``render_pool`` does the same under a
    hard time limit).

    Raises:
        InvalidInput: with the reason the sample cannot be rendered.
    """
    for locale in LOCALES:
        try:
            render(compiled, sample_variables(locale))
        except TemplateError as exc:
            raise InvalidInput(exc.reason) from exc


def render(
    compiled: Compiled,
    variables: Mapping[str, object],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Fill in a template for one recipient and return the Telegram HTML message.

    Raises:
        TemplateError: on any failure or limit (time, length, numbers); its
            ``reason`` is a message id. Nothing partial is ever returned.
    """
    stream: Iterator[str] = iter(())
    try:
        with deadline(clock):
            stream = compiled.template.generate(_clean(variables))
            parts = _collect(stream)
    except TemplateError:
        raise
    except UndefinedError as exc:
        raise TemplateError(MISSING_VALUE) from exc
    except Exception as exc:
        # Admin-written code may fail in any way; the reason is all a caller needs.
        logger.info("template render failed: %s", type(exc).__name__)
        raise TemplateError(FAILED) from exc
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    text = "".join(parts).strip()
    if not text:
        raise TemplateError(EMPTY_OUTPUT)
    if template_html.check(text) is not None:
        raise TemplateError(BROKEN_MARKUP)
    return text


def _collect(stream: Iterator[str]) -> list[str]:
    """Take the output chunk by chunk, stopping as soon as it is too long or too late."""
    parts: list[str] = []
    size = 0
    for chunk in stream:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateError(TOO_LONG)
        tick()
        parts.append(chunk)
    return parts


def sample_variables(locale: str) -> dict[str, object]:
    """Return the variables of the sample customer used for previews, in ``locale``."""
    sample = _SAMPLES.get(locale, _SAMPLES["en"])
    return customer_variables(
        name=str(sample["name"]),
        grade="A",
        owner=str(sample["owner"]),
        points=120,
        merchant=str(sample["merchant"]),
        today=_SAMPLE_DAY,
        locale=locale,
    )


def customer_variables(
    *,
    name: str,
    grade: str | None,
    owner: str,
    points: int,
    merchant: str,
    today: date,
    locale: str,
) -> dict[str, object]:
    """Return the documented variables for one customer, in the recipient's language."""
    return {
        "first_name": first_name_of(name),
        "name": name,
        "grade": grade or "",
        "owner": owner,
        "points": points,
        "merchant": merchant,
        "unsubscribe": translate(locale, UNSUBSCRIBE_HINT),
        "today": format_day(today, locale),
    }


def first_name_of(name: str) -> str:
    """Return the first word of a name (a Chinese name without spaces stays whole)."""
    words = name.split()
    return words[0] if words else name


def format_day(day: date, locale: str) -> str:
    """Return a date as people write it in ``locale`` (December 1, 2026 or 2026年12月1日)."""
    return str(babel_format_date(day, format="long", locale=locale.replace("-", "_")))


def _clean(variables: Mapping[str, object]) -> dict[str, object]:
    """Keep only documented variables, as plain strings and numbers (no objects to walk)."""
    clean: dict[str, object] = {}
    for name in VARIABLES:
        if name not in variables:
            continue
        value = variables[name]
        if value is None or isinstance(value, bool | int | float):
            clean[name] = value
        elif isinstance(value, date):
            clean[name] = value.isoformat()
        else:
            clean[name] = str(value)
    for alias, name in ALIASES.items():
        if name in clean:
            clean[alias] = clean[name]
    return clean


def _markup_skeleton(source: str) -> str:
    """Return the template's literal text with each ``{{ … }}`` as ``x`` and tags dropped."""
    parts: list[str] = []
    inside_variable = False
    for _, kind, value in ENV.lex(source):
        if kind == "variable_begin":
            inside_variable = True
            parts.append("x")
        elif kind == "variable_end":
            inside_variable = False
        elif kind == "data" and not inside_variable:
            parts.append(value)
    return "".join(parts)


def _depth(node: Any, level: int = 0) -> int:
    if level > MAX_NESTING:
        return level
    return max((_depth(child, level + 1) for child in node.iter_child_nodes()), default=level)
