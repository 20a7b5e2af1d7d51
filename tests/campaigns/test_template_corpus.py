"""Sandbox-escape and resource-abuse templates: each is refused at save or stopped at render.

A template that would write a file names a sentinel path; after the whole
corpus the file must not exist, and nothing global has changed.
"""

from __future__ import annotations

import builtins
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.campaigns import template_sandbox, templates
from bot.campaigns.templates import MAX_OUTPUT, compile_template, render, sample_variables
from bot.errors import InvalidInput, TemplateError

# A hang guard only: a render that never ends fails the test instead of stalling it.
HANG_GUARD_SECONDS = 30
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
    # Allowed constructs that only blow up with a real customer's data
    ("{% for c in name %}{{ name }}{% endfor %}", {"name": "x" * 200}),
    ("{% for i in [" + MANY + "] %}{{ unsubscribe }}{% endfor %}", {"unsubscribe": "y" * 100}),
    ("{{ 1 // (points - 7) }}x", {"points": 7}),
]


def _attempt(source: str, overrides: dict[str, object]) -> str:
    """Return "refused", "stopped", or the rendered text when nothing stopped it."""
    try:
        compiled = compile_template(source)
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
    assert len(CORPUS) >= 30
    assert len({source for source, _ in CORPUS}) == len(CORPUS)


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
    for source, overrides in CORPUS[-3:]:
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
