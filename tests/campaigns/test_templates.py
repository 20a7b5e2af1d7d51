"""Message templates: variables, escaping, Telegram markup, limits and the fallback pick."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from bot.campaigns import template_html, template_store, templates
from bot.campaigns.template_store import TemplateBody
from bot.campaigns.templates import compile_template, render, sample_variables
from bot.errors import InvalidInput, TemplateError
from bot.i18n import translate


def variables(**overrides: object) -> dict[str, object]:
    values = sample_variables("en")
    values.update(overrides)
    return values


def refusal(source: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        compile_template(source)
    return refused.value


def test_documented_variables_render_for_a_customer() -> None:
    compiled = compile_template(
        "Hi {{ first_name }} ({{ name }}, grade {{ grade }}), {{ owner }} at {{ merchant }}: "
        "{{ points }} points on {{ today }}. {{ unsubscribe }}"
    )
    text = render(
        compiled,
        templates.customer_variables(
            name="Zhao Lei",
            grade="B",
            owner="Li Wei",
            points=42,
            merchant="Tea Corner",
            today=date(2026, 12, 24),
            locale="en",
        ),
    )
    assert text == (
        "Hi Zhao (Zhao Lei, grade B), Li Wei at Tea Corner: 42 points on December 24, 2026. "
        "Don&#39;t want these messages? Tap “Stop these messages” below."
    )
    assert set(templates.VARIABLES) == {
        "first_name",
        "name",
        "grade",
        "owner",
        "points",
        "merchant",
        "unsubscribe",
        "today",
    }


def test_chinese_sample_and_dates() -> None:
    values = sample_variables("zh-CN")
    assert values["first_name"] == "陈美玲"
    assert values["today"] == "2026年12月1日"
    assert templates.first_name_of("  Mei   Chen ") == "Mei"


def test_chinese_variable_names_render_the_same_values() -> None:
    compiled = compile_template("{{ 名字 }}，您好！{{ 店名 }}送您 {{ 积分 }} 积分（{{ 今天 }}）")
    text = render(compiled, sample_variables("zh-CN"))
    assert text == "陈美玲，您好！王记茶庄送您 120 积分（2026年12月1日）"
    assert set(templates.ALIASES.values()) == set(templates.VARIABLES)
    assert refusal("{{ 名 }}").params["name"] == "{{ 名 }}"


def test_variables_are_escaped_and_literal_markup_kept() -> None:
    compiled = compile_template("<b>Hi {{ name }}</b> &amp; {{ 'x<y' }}")
    text = render(compiled, variables(name='<i>Bob</i> & "co"'))
    assert text == "<b>Hi &lt;i&gt;Bob&lt;/i&gt; &amp; &#34;co&#34;</b> &amp; x&lt;y"
    assert template_html.check(text) is None


def test_unknown_variables_are_refused_by_name() -> None:
    refused = refusal("Hello {{ phone }}")
    assert refused.params["name"] == "{{ phone }}"
    assert "{{ first_name }}" in str(refused.params["variables"])
    message = translate("en", refused.key, **refused.params)
    assert message.startswith("{{ phone }} is not a variable you can use. You can use: ")
    assert refusal("{% if vip %}x{% endif %}").params["name"] == "{{ vip }}"
    # A loop variable is only known inside its loop.
    assert refusal("{% for c in name %}{{ c }}{% endfor %}{{ c }}").params["name"] == "{{ c }}"


def test_loops_conditions_and_filters_that_are_allowed() -> None:
    source = (
        "{% if grade == 'A' %}<b>VIP</b> {% elif grade is defined %}Hi {% endif %}"
        "{{ first_name|upper }} {{ merchant|truncate(9, True, '…', 0) }} "
        "{% for tea in ['Longjing', 'Pu-erh'] %}{{ loop.index }}.{{ tea }}"
        "{% if not loop.last %}, {% endif %}{% endfor %} {{ points // 7 + 1 }}"
    )
    text = render(compile_template(source), variables())
    assert text == "<b>VIP</b> MEI Wang&#39;s T… 1.Longjing, 2.Pu-erh 18"


def test_telegram_markup_is_checked_at_save_time() -> None:
    assert refusal("<blink>hi</blink>").params["tag"] == "<blink>"
    assert refusal("<b>hi</i>").params["tag"] == "</i>"
    assert refusal("<b><i>hi</b></i>").params["tag"] == "</i>"
    assert refusal("<b>hi").params["tag"] == "<b>"
    assert refusal("hi</b>").params["tag"] == "</b>"
    assert refusal("<br/>hi").params["tag"] == "<br/>"
    assert refusal('<a title="x">hi</a>').params["attribute"] == "title"
    assert refusal("1 < 2").key == refusal("fish & chips").key == refusal("&nbsp;").key
    assert refusal("<!-- note -->hi").key.startswith("Telegram messages can't contain")
    ok = '<a href="https://tea.example">{{ merchant }}</a> <tg-spoiler>x</tg-spoiler> &lt;3'
    assert compile_template(ok).source == ok


def test_branch_markup_is_checked_again_at_render() -> None:
    # Both branches together are balanced, but with grade "B" a closing tag dangles.
    compiled = compile_template("{% if grade != 'B' %}<b>{% endif %}Hi{% if 1 %}</b>{% endif %}")
    with pytest.raises(TemplateError) as failed:
        render(compiled, variables(grade="B"))
    assert failed.value.reason == templates.BROKEN_MARKUP
    assert render(compiled, variables(grade="A")) == "<b>Hi</b>"


def test_source_length_and_empty_text() -> None:
    assert refusal(" \n ").key == templates.EMPTY
    long = refusal("x" * (templates.MAX_SOURCE + 1))
    assert long.params == {"length": templates.MAX_SOURCE + 1, "limit": templates.MAX_SOURCE}
    assert compile_template("x" * templates.MAX_SOURCE)
    assert refusal("{{ name ").key == templates.SYNTAX


def test_output_length_is_capped_while_streaming() -> None:
    compiled = compile_template(
        "{% for i in [" + ",".join("1" * 50) + "] %}{{ name }}{% endfor %}"
    )
    with pytest.raises(TemplateError) as failed:
        render(compiled, variables(name="x" * 100))
    assert failed.value.reason == templates.TOO_LONG
    assert len(render(compiled, variables(name="x" * 80))) == 4000


def test_render_deadline_with_an_injected_clock() -> None:
    compiled = compile_template("{% for i in [1, 2, 3] %}{{ i + 1 }}{% endfor %}")
    ticks = itertools.count(step=0.4)
    with pytest.raises(TemplateError) as failed:
        render(compiled, variables(), clock=lambda: next(ticks))
    assert failed.value.reason == templates.TOO_SLOW
    assert render(compiled, variables(), clock=lambda: 0.0) == "234"


def test_missing_values_and_runtime_failures_never_half_render() -> None:
    compiled = compile_template("Hi {{ first_name }} {{ 10 // (points - 7) }}")
    sample_fails = compile_template("Hi {{ 10 // (points - 120) }}")  # rules are fine
    with pytest.raises(InvalidInput) as refused:
        templates.check_samples(sample_fails)  # the sample customer is not
    assert refused.value.key == templates.FAILED
    with pytest.raises(TemplateError) as failed:
        render(compiled, variables(points=7))
    assert failed.value.reason == templates.FAILED
    with pytest.raises(TemplateError) as missing:
        render(compile_template("Hi {{ owner }}"), {"first_name": "Mei"})
    assert missing.value.reason == templates.MISSING_VALUE
    with pytest.raises(TemplateError) as empty:
        render(compile_template("{% if grade != 'Z' %}x{% endif %} "), variables(grade="Z"))
    assert empty.value.reason == templates.EMPTY_OUTPUT


def test_only_plain_values_reach_the_template() -> None:
    class Sneaky:
        def __str__(self) -> str:
            return "plain"

    compiled = compile_template("{{ name }} {{ points }} {{ today }}")
    text = render(compiled, {"name": Sneaky(), "points": 3, "today": date(2026, 1, 2)})
    assert text == "plain 3 2026-01-02"


def test_every_default_template_compiles_and_renders_in_both_languages() -> None:
    defaults = template_store.default_bodies()
    assert set(defaults) == set(templates.DEFAULT_KEYS)
    for key, slots in defaults.items():
        assert {("en", ""), ("zh-CN", "")} <= set(slots), key
        for (locale, _), body in slots.items():
            text = render(compile_template(body), sample_variables(locale))
            assert sample_variables(locale)["first_name"] in text, (key, locale)
    for key in ("birthday", "weekly_touchpoint"):
        grades = {slot for slot in defaults[key] if slot[1]}
        assert grades == {(loc, g) for loc in ("en", "zh-CN") for g in "ABC"}


def _bodies(*slots: tuple[str, str]) -> dict[tuple[str, str], TemplateBody]:
    return {slot: TemplateBody(None, 1, f"{slot}", *slot) for slot in slots}


@pytest.mark.parametrize(
    ("locale", "grade", "expected"),
    [
        ("zh-CN", "A", ("zh-CN", "A")),
        ("zh-CN", "b", ("zh-CN", "")),
        ("zh-CN", None, ("zh-CN", "")),
        ("fr", "A", ("en", "A")),
        (None, "C", ("en", "")),
        (None, None, ("en", "")),
    ],
)
def test_pick_falls_back_language_then_grade(
    locale: str | None, grade: str | None, expected: tuple[str, str]
) -> None:
    bodies = _bodies(("zh-CN", "A"), ("zh-CN", ""), ("en", "A"), ("en", ""), ("de", ""))
    picked = template_store.pick(bodies, locale=locale, grade=grade, fallback_locale="en")
    assert picked is not None
    assert (picked.locale, picked.variant) == expected


def test_pick_uses_the_workspace_language_before_english() -> None:
    bodies = _bodies(("zh-CN", ""), ("en", ""))
    picked = template_store.pick(bodies, locale="fr", grade=None, fallback_locale="zh-CN")
    assert picked is not None and picked.locale == "zh-CN"
    assert template_store.pick({}, locale="en", grade="A", fallback_locale="en") is None
