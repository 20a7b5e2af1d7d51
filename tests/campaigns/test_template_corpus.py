"""Sandbox-escape and resource-abuse templates: each is refused at save or stopped at render.

Every filter, test and operator a template may use appears here at absurd
arguments, beside the ones it may not use. Each case is tried twice: in this
process (the sandbox alone must refuse or stop it, within a hang guard) and
through the render workers, where it must be refused or stopped within the
hard limit. A template that would write a file names a sentinel path; after
the whole corpus the file must not exist, and nothing global has changed.
"""

from __future__ import annotations

import builtins
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.campaigns import template_sandbox, templates
from bot.campaigns.render_pool import RenderPool
from bot.campaigns.templates import (
    MAX_OUTPUT,
    check_samples,
    compile_template,
    render,
    sample_variables,
)
from bot.errors import InvalidInput, TemplateError

pytestmark = pytest.mark.timeout(120)

# A hang guard only: a render that never ends fails the test instead of stalling it.
HANG_GUARD_SECONDS = 30
# Through the render workers every case ends within the 1 s hard limit; the rest is
# room for a machine busy with other work.
WORKER_SECONDS = 1.5
# 2**128 - 1: the largest whole number a template may hold.
BIG = "340282366920938463463374607431768211455"
DOUBLING = "{% set x = name %}" + "{% set x = x ~ x %}" * 40 + "{{ x }}"
MANY = ",".join(["1"] * 50)

# (template, variables that differ from the sample customer). ``SENTINEL`` is the
# path of a file that only exists if template code ran.
CORPUS: list[tuple[str, dict[str, object]]] = [
    # Attribute walks to Python internals
    ("{{ ''.__class__ }}", {}),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", {}),
    ("{{ name.__class__.__base__.__subclasses__() }}", {}),
    ("{{ ''['__class__'] }}", {}),
    ("{{ name|attr('__class__') }}", {}),
    ("{{ (name|attr('\\x5f\\x5fclass\\x5f\\x5f')|attr('__mro__')) }}", {}),
    ("{{ '{0.__class__.__init__.__globals__}'.format(name) }}", {}),
    ("{{ name.upper() }}", {}),
    ("{{ '%s' % name }}", {}),
    ("{{ '%99999999s' % 1 }}", {}),
    # Jinja's own globals and special names
    ("{{ self }}", {}),
    ("{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}", {}),
    ("{{ cycler.__init__.__globals__.os.popen('touch SENTINEL').read() }}", {}),
    ("{{ joiner.__init__.__globals__.os.system('touch SENTINEL') }}", {}),
    ("{{ namespace.__init__.__globals__.os.system('touch SENTINEL') }}", {}),
    ("{{ lipsum.__globals__['os'].popen('touch SENTINEL').read() }}", {}),
    ("{{ config.items() }}", {}),
    ("{{ request.application.__globals__.__builtins__.open('SENTINEL', 'w') }}", {}),
    ("{{ range.__self__.setattr(range.__self__, 'pwned', 1) }}", {}),
    ("{% for x in [1] %}{{ loop.__class__.__init__.__globals__ }}{% endfor %}", {}),
    ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", {}),
    ("{{ loop }}", {}),
    # Statements that load other code or change scope
    ("{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}", {}),
    ("{% call r() %}x{% endcall %}", {}),
    ("{% include '/etc/passwd' %}", {}),
    ("{% extends 'base.html' %}", {}),
    ("{% import 'x' as y %}", {}),
    ("{% from 'x' import y %}", {}),
    ("{% set ns = namespace(a=1) %}{% set ns.a = 2 %}", {}),
    ("{% set __builtins__ = 1 %}", {}),
    ("{% with x = name %}{{ x }}{% endwith %}", {}),
    ("{% block b %}{{ self.b() }}{% endblock %}", {}),
    ("{% filter upper %}{{ name }}{% endfilter %}", {}),
    ("{% autoescape false %}{{ name }}{% endautoescape %}", {}),
    ("{{ name|safe }}", {}),
    ("{% do x.append(1) %}", {}),
    # Resource abuse: huge ranges, loops, strings and numbers
    ("{{ range(10**9)|list }}", {}),
    ("{% for i in range(999999999) %}x{% endfor %}", {}),
    ("{% for a in name %}{% for b in name %}{{ a }}{% endfor %}{% endfor %}", {}),
    ("{% for i in [" + ",".join(["1"] * 51) + "] %}x{% endfor %}", {}),
    ("{{ 'a' * 10**7 }}", {}),
    ("{{ 'a' * 10000000 }}", {}),
    ("{{ name * 10000000 }}", {}),
    ("{{ [name] * 99999999 }}", {}),
    ("{{ 9**9**9 }}", {}),
    ("{{ " + " * ".join(["999999999999"] * 8) + " }}", {}),
    ("{{ points * points * points * points * points }}", {"points": 10**15}),
    (DOUBLING, {}),
    ("{{ name|center(99999999) }}", {}),
    ("{{ name|indent(99999999) }}", {}),
    ("{{ name|replace('', name) }}", {}),
    ("{{ name|join(name) }}", {}),
    ("{{ {'a': 1} }}", {}),
    ("{{ " + "(" * 400 + "1" + ")" * 400 + " }}", {}),
    ("{{ " + "-" * 2000 + "1 }}", {}),
    ("x" * 10_000, {}),
    # Every allowed filter, test and operator at absurd arguments; the filters that are not
    # allowed, at the arguments that made them dangerous
    ("{{ points|round(-99999999) }}", {}),
    ("{{ points|round(99999999) }}", {}),
    ("{{ points|round(precision=-99999999) }}", {}),
    ("{{ points|round(-(99999999)) }}", {}),
    ("{{ 1.5|round(-99999999, 'ceil') }}", {}),
    ("{{ points|round(99999999, 'floor') }}", {}),
    ("{{ points|round(0 - 99999999) }}", {}),
    ("{{ points|round(points - 100000120) }}", {}),
    ("{{ points|round(2, 'sideways') }}", {}),
    ("{{ points|round(1.5) }}", {}),
    ("{{ 1e308|int }}", {}),
    ("{{ '1e308'|int }}", {}),
    ("{{ 99999999999999999999999999999999999999999999999 }}", {}),
    ("{{ 1_000_000_000_000_000_000_000_000_000_000_000_000_000 }}", {}),
    ("{{ -(-(-99999999999999999999999999999999999999999999)) }}", {}),
    ("{{ points + " + BIG + " }}", {}),
    ("{{ " + BIG + " - points - " + BIG + " - " + BIG + " }}", {}),
    ("{{ points * 99999999999 * 99999999999 }}", {}),
    ("{{ points|abs * 99999999999 * 99999999999 }}", {}),
    ("{{ name|length * 99999999999 * 99999999999 }}", {}),
    ("{{ name|wordcount * 99999999999 * 99999999999 }}", {}),
    ("{{ points / 0 }}", {}),
    ("{{ points % 0 }}", {}),
    ("{{ points // 0 }}", {}),
    ("{{ points is divisibleby 0 }}", {}),
    ("{{ name % 99999999 }}", {}),
    ("{{ '%0999999999d' % points }}", {}),
    ("{{ '%s%s' % (name, name) }}", {}),
    ("{{ name|default('x' * 99999999) }}", {}),
    ("{{ name * points }}", {}),
    ("{{ points * name }}", {}),
    ("{{ today * 99999999 }}", {}),
    ("{{ [points] * points }}", {}),
    ("{{ (1, 2) * 99999999 }}", {}),
    ("{{ [1, 2, 3] + [4] * 99999999 }}", {}),
    ("{{ name|first * 99999999 }}", {}),
    ("{{ name|last * 99999999 }}", {}),
    ("{{ name|lower|capitalize|title|trim * 99999 }}", {}),
    ("{{ name|upper ~ name|trim(name * 99999) }}", {}),
    ("{{ 'x'|truncate(5, True, 'y' * 99999999) }}", {}),
    ("{{ 2 ** 99999999 }}", {}),
    ("{{ points ** points }}", {}),
    ("{{ range(99999999)|join }}", {}),
    ("{{ name|join(',') }}", {}),
    ("{{ name|replace('a', name) }}", {}),
    ("{{ name|center(points * 99999999) }}", {}),
    ("{{ name|indent(width=99999999) }}", {}),
    ("{{ name|wordwrap(1) }}", {}),
    ("{{ name|format(name) }}", {}),
    ("{{ '%s'|format(name) }}", {}),
    ("{{ name|float }}", {}),
    ("{{ name|list }}", {}),
    ("{{ name|batch(99999999) }}", {}),
    ("{{ name|slice(99999999) }}", {}),
    ("{{ name|sum(start=99999999) }}", {}),
    ("{{ name|sort }}", {}),
    ("{{ name|map('upper') }}", {}),
    ("{{ name|urlize(99999999) }}", {}),
    ("{{ name|filesizeformat }}", {}),
    ("{{ name|tojson }}", {}),
    ("{{ name|pprint }}", {}),
    ("{{ name|string }}", {}),
    ("{{ name is sameas name }}", {}),
    ("{{ name is callable }}", {}),
    ("{{ lipsum(99999999) }}", {}),
    ("{{ name if points < 0 else points|round(-99999999) }}", {}),
]
# Allowed constructs that only blow up with a real customer's data: fine for the sample
# customer, so saved, and stopped when a campaign renders them.
REAL_DATA: list[tuple[str, dict[str, object]]] = [
    ("{% for c in name %}{{ name }}{% endfor %}", {"name": "x" * 200}),
    ("{% for i in [" + MANY + "] %}{{ unsubscribe }}{% endfor %}", {"unsubscribe": "y" * 100}),
    ("{{ 1 // (points - 7) }}x", {"points": 7}),
    (
        "{% if points > 100000 %}{{ points|round(0 - points) }}"
        "{% else %}Hello {{ name }}{% endif %}",
        {"points": 10**6},
    ),
    (
        "{% if points > 100000 %}{{ points|round(points - 1000100) }}"
        "{% else %}Hi {{ name }}{% endif %}",
        {"points": 10**6},
    ),
    (
        "{% if points > 100000 %}{{ points * points * points * points }}{% else %}Hi{% endif %}",
        {"points": 10**15},
    ),
    (
        "{% if points > 100000 %}{{ points + " + BIG + " }}{% else %}Hi{% endif %}",
        {"points": 10**15},
    ),
    ("{% for c in name %}{{ name|upper }}{% endfor %}", {"name": "x" * 100}),
    ("Hi {{ name|trim }} {{ name|title }}", {"name": "x" * 5000}),
    ("Hi {{ name|truncate(99999999) }}", {"name": "x" * 5000}),
]
CORPUS += REAL_DATA
# Absurd but harmless: each either renders a bounded text at once or is refused.
ABSURD: list[tuple[str, dict[str, object]]] = [
    ("{{ '-1e308'|int(base=16) }}", {}),
    ("{{ name|truncate(99999999) }}", {}),
    ("{{ name|truncate(-99999999) }}", {}),
    ("{{ name|truncate(5, False, '…', 99999999) }}", {}),
    ("{{ name|int(base=99999999) }}", {}),
    ("{{ name|int(default=99999999) }}", {}),
    ("{{ name|default(name, true) }}", {}),
    ("{{ points|abs }}", {"points": -(2**127)}),
    ("{{ points|round(20) }} {{ points|round(-20, 'ceil') }}", {"points": 2**100}),
    ("{{ 1e308 * 1e308 }} {{ -1e308 * 1e308 }}", {}),
    ("{{ points / 3 }} {{ points // 3 }} {{ points % 3 }}", {"points": 2**127}),
    ("{{ points is divisibleby " + BIG + " }}", {}),
    ("{{ name|wordcount }}", {"name": "a " * 2000}),
    ("{{ name|title }}", {"name": "ab " * 1300}),
    ("{{ name|capitalize }}{{ name|lower }}", {"name": "Ab" * 1000}),
    ("{{ name|trim('abcdefghijklmnopqrstuvwxyz' ~ name) }}.", {"name": "ab" * 2000}),
    ("{% for c in name %}{{ loop.revindex }}{% endfor %}", {"name": "x" * 500}),
    ("{{ name in name ~ name ~ name }}", {"name": "ab" * 2000}),
    ("{{ name|first }}{{ name|last }}{{ name|length }}", {"name": "x" * 4000}),
    ("{{ name == name ~ '' }}", {"name": "x" * 4000}),
]


def _attempt(source: str, overrides: dict[str, object]) -> str:
    """Return "refused", "stopped", or the rendered text when nothing stopped it."""
    try:
        compiled = compile_template(source)
        check_samples(compiled)
    except InvalidInput:
        return "refused"
    variables = sample_variables("en") | overrides
    try:
        text = render(compiled, variables)
    except TemplateError:
        return "stopped"
    assert len(text) <= MAX_OUTPUT
    return text


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus") / "pwned"


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 80
    assert len({source for source, _ in CORPUS}) == len(CORPUS)
    for name in template_sandbox.ENV.filters:
        assert any(f"|{name}" in source for source, _ in CORPUS + ABSURD), name


@pytest.mark.parametrize(("source", "overrides"), CORPUS, ids=range(len(CORPUS)))
def test_abusive_template_is_refused_or_stopped(
    source: str, overrides: dict[str, object], sentinel: Path
) -> None:
    source = source.replace("SENTINEL", str(sentinel))
    with ThreadPoolExecutor(max_workers=1) as pool:
        outcome = pool.submit(_attempt, source, overrides).result(timeout=HANG_GUARD_SECONDS)
    assert outcome in ("refused", "stopped"), outcome[:200]
    assert not sentinel.exists()


def test_blow_ups_with_real_data_are_stopped_at_render_not_at_save() -> None:
    for source, overrides in REAL_DATA:
        compiled = compile_template(source)  # fine with the sample customer
        with pytest.raises(TemplateError):
            render(compiled, sample_variables("en") | overrides)


def test_no_template_code_ran(sentinel: Path) -> None:
    for source, overrides in CORPUS:
        _attempt(source.replace("SENTINEL", str(sentinel)), overrides)
    assert not sentinel.exists()
    assert not hasattr(builtins, "pwned")
    assert template_sandbox.ENV.globals == {}
    assert len(templates.VARIABLES) == 8


@pytest.mark.parametrize(("source", "overrides"), ABSURD, ids=range(len(ABSURD)))
def test_absurd_arguments_render_a_bounded_text_or_are_refused(
    source: str, overrides: dict[str, object]
) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        outcome = pool.submit(_attempt, source, overrides).result(timeout=HANG_GUARD_SECONDS)
    assert len(outcome) <= MAX_OUTPUT


async def test_the_corpus_through_the_render_workers(sentinel: Path) -> None:
    renders = RenderPool(workers=1)
    slowest = 0.0
    try:
        for source, overrides in CORPUS:
            source = source.replace("SENTINEL", str(sentinel))
            started = time.monotonic()
            try:
                checked = await renders.check(source)
            except InvalidInput:
                outcome = "refused"
            else:
                try:
                    await renders.render_one(checked, sample_variables("en") | overrides)
                except TemplateError:
                    outcome = "stopped"
                else:
                    outcome = "rendered"
            took = time.monotonic() - started
            slowest = max(slowest, took)
            assert outcome in ("refused", "stopped"), source[:200]
            assert took < WORKER_SECONDS, (source[:200], took)
        assert renders.killed == 0  # the sandbox stopped them all; the hard limit had no work
    finally:
        await renders.close()
    assert not sentinel.exists()  # noqa: ASYNC240 - one stat after the work
