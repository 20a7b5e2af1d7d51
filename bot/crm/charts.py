"""Charts: the /stats pictures drawn as PNG bytes with matplotlib's Agg renderer.

Each chart is about 1000×700 px with large type and few labels, so it reads on a
phone. Drawing is CPU-bound and synchronous: callers run ``render_stats`` in a
worker thread (``asyncio.to_thread``). No pyplot and no ``rcParams``: every figure
and font is passed explicitly, because pyplot's global state is not thread-safe.

Chinese labels need a font with CJK glyphs. The first one ``fc-list :lang=zh``
reports is used; without one the labels are drawn in English, and a rep's name
the fonts cannot draw is replaced by their member number.

matplotlib is imported by the functions that draw, never at module level: the
bot's process imports this module for ``render_stats``'s name and hands the
drawing to a worker (``bot.crm.offload``), which has matplotlib preloaded.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING

from bot.crm.kpi_series import FunnelWeek, RepFollowUps
from bot.crm.models.core import ValueTier
from bot.i18n import N_, translate
from bot.localtime import show_month_day

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ft2font import FT2Font

WIDTH_INCHES, HEIGHT_INCHES, DPI = 10, 7, 100
TITLE_SIZE, LABEL_SIZE, VALUE_SIZE = 24, 18, 15
MAX_REPS = 8
COLOURS = ("#4C78A8", "#F58518", "#54A24B")
TIER_COLOURS = {ValueTier.HIGH: "#54A24B", ValueTier.MEDIUM: "#F58518", ValueTier.LOW: "#9D9D9D"}
TIER_NAMES = {ValueTier.HIGH: N_("High"), ValueTier.MEDIUM: N_("Medium"), ValueTier.LOW: N_("Low")}
BASE_FAMILY = "DejaVu Sans"


@cache
def cjk_font() -> str | None:
    """Return the family name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        found = subprocess.run(  # noqa: S603 - fixed arguments, no user input
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in sorted(found.splitlines()):
        path = line.split(":", 1)[0].strip()
        if not path.lower().endswith((".ttf", ".otf", ".ttc")):
            continue
        try:
            font_manager.fontManager.addfont(path)
            return str(FontProperties(fname=path).get_name())
        except (OSError, RuntimeError, ValueError):
            continue
    return None


def chart_locale(locale: str) -> str:
    """Return the language chart labels are drawn in: Chinese only when a CJK font exists."""
    return locale if locale == "en" or cjk_font() is not None else "en"


def render_stats(
    funnel: Sequence[FunnelWeek],
    tiers: Mapping[ValueTier, int],
    reps: Sequence[RepFollowUps],
    *,
    locale: str,
) -> tuple[bytes, bytes, bytes]:
    """Draw the weekly funnel, the tier distribution and the per-rep chart as PNGs."""
    return (
        funnel_chart(funnel, locale=locale),
        tier_chart(tiers, locale=locale),
        rep_chart(reps, locale=locale),
    )


def funnel_chart(weeks: Sequence[FunnelWeek], *, locale: str) -> bytes:
    """Draw new leads, contacted and won per week as grouped bars."""
    from matplotlib.ticker import MaxNLocator

    lang, fonts = _fonts(locale)
    figure, axes = _figure()
    steps = (
        (N_("New leads"), [w.leads for w in weeks]),
        (N_("Contacted"), [w.contacted for w in weeks]),
        (N_("Won"), [w.won for w in weeks]),
    )
    width = 0.27
    for i, (label, values) in enumerate(steps):
        positions = [x + (i - 1) * width for x in range(len(weeks))]
        bars = axes.bar(positions, values, width, label=translate(lang, label), color=COLOURS[i])
        axes.bar_label(
            bars,
            labels=[str(v) if v else "" for v in values],
            fontproperties=_font(fonts, VALUE_SIZE),
        )
    axes.set_xticks(range(len(weeks)), [show_month_day(w.week_start) for w in weeks])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(prop=_font(fonts, LABEL_SIZE), loc="upper left", frameon=False)
    _finish(axes, fonts, translate(lang, N_("Leads by week: new, contacted, won")))
    axes.set_xlabel(translate(lang, N_("Week starting")), fontproperties=_font(fonts, LABEL_SIZE))
    if not any(w.leads for w in weeks):
        _note(axes, fonts, translate(lang, N_("No new leads in these weeks")))
    return _png(figure)


def tier_chart(counts: Mapping[ValueTier, int], *, locale: str) -> bytes:
    """Draw how many customers are in the high, medium and low value tiers."""
    from matplotlib.ticker import MaxNLocator

    lang, fonts = _fonts(locale)
    figure, axes = _figure()
    tiers = list(ValueTier)
    values = [counts.get(t, 0) for t in tiers]
    total = sum(values)
    names = [translate(lang, TIER_NAMES[t]) for t in tiers]
    bars = axes.bar(names, values, 0.6, color=[TIER_COLOURS[t] for t in tiers])
    labels = [f"{v} ({v / total:.0%})" if total else "" for v in values]
    axes.bar_label(bars, labels=labels, fontproperties=_font(fonts, VALUE_SIZE))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    _finish(axes, fonts, translate(lang, N_("Customers by value tier")))
    if not total:
        _note(axes, fonts, translate(lang, N_("Value tiers are not computed yet")))
    return _png(figure)


def rep_chart(reps: Sequence[RepFollowUps], *, locale: str) -> bytes:
    """Draw each rep's follow-ups done against reminders due as side-by-side bars."""
    from matplotlib.ticker import MaxNLocator

    lang, fonts = _fonts(locale)
    figure, axes = _figure()
    # The busiest reps, kept in name order so the chart reads the same every time.
    shown = sorted(reps, key=lambda r: r.done + r.due, reverse=True)[:MAX_REPS]
    shown = [r for r in reps if r in shown]
    height = 0.38
    rows = range(len(shown))
    for offset, label, values, colour in (
        (-height / 2, N_("Done"), [r.done for r in shown], COLOURS[2]),
        (height / 2, N_("Due"), [r.due for r in shown], COLOURS[1]),
    ):
        bars = axes.barh(
            [y + offset for y in rows], values, height, label=translate(lang, label), color=colour
        )
        axes.bar_label(
            bars,
            labels=[str(v) for v in values],
            padding=4,
            fontproperties=_font(fonts, VALUE_SIZE),
        )
    axes.set_yticks(rows, [_name(r, fonts) for r in shown])
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    _finish(axes, fonts, translate(lang, N_("Follow-ups done vs due, per rep")))
    if shown:
        axes.legend(prop=_font(fonts, LABEL_SIZE), loc="lower right", frameon=False)
    if not any(r.done or r.due for r in shown):
        _note(
            axes,
            fonts,
            translate(lang, N_("No follow-ups or reminders in this period")),
            horizontal=True,
        )
    return _png(figure)


def _fonts(locale: str) -> tuple[str, list[str]]:
    lang = chart_locale(locale)
    cjk = cjk_font()
    # matplotlib falls back glyph by glyph along the family list.
    return lang, [cjk, BASE_FAMILY] if cjk else [BASE_FAMILY]


def _font(fonts: list[str], size: int) -> FontProperties:
    from matplotlib.font_manager import FontProperties

    return FontProperties(family=fonts, size=size)


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _finish(axes: Axes, fonts: list[str], title: str) -> None:
    axes.set_title(title, fontproperties=_font(fonts, TITLE_SIZE), pad=16)
    for label in (*axes.get_xticklabels(), *axes.get_yticklabels()):
        label.set_fontproperties(_font(fonts, LABEL_SIZE))
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.margins(y=0.15)


def _note(axes: Axes, fonts: list[str], text: str, *, horizontal: bool = False) -> None:
    # Nothing to count: an empty 0…1 scale reads as noise, so drop the value axis.
    if horizontal:
        axes.set_xlim(0, 1)
        axes.set_xticks([])
    else:
        axes.set_ylim(0, 1)
        axes.set_yticks([])
    axes.text(
        0.5,
        0.5,
        text,
        transform=axes.transAxes,
        ha="center",
        va="center",
        color="#666666",
        fontproperties=_font(fonts, LABEL_SIZE),
    )


def _name(rep: RepFollowUps, fonts: list[str]) -> str:
    return rep.name if _drawable(rep.name, tuple(fonts)) else f"#{rep.member_id}"


@cache
def _face(family: str) -> FT2Font:
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(FontProperties(family=family), fallback_to_default=True)
    return FT2Font(path)


def _drawable(text: str, fonts: tuple[str, ...]) -> bool:
    faces = [_face(f) for f in fonts]
    return all(
        char.isspace() or any(face.get_char_index(ord(char)) for face in faces) for char in text
    )


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
