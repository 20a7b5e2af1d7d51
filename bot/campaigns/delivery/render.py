"""Rendering one run's message: templates compiled once per run, then filled per recipient.

A template that fails for a recipient skips that recipient with a recorded
reason; nothing half-rendered is ever sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from jinja2 import TemplateSyntaxError, meta
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns import template_store, templates
from bot.campaigns.delivery.outbox import Claimed
from bot.campaigns.survey_buttons import survey_keyboard
from bot.campaigns.template_sandbox import ENV
from bot.errors import InvalidInput, TemplateError
from bot.i18n import LOCALES, N_, translate
from bot.messaging import Button, Keyboard

logger = logging.getLogger(__name__)

OPT_OUT_LABEL = N_("Stop these messages")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready to send: HTML text and the opt-out button."""

    text: str
    buttons: Keyboard


@dataclass(frozen=True, slots=True)
class Skipped:
    """A recipient who gets nothing, and why (stored as the row's reason)."""

    reason: str


@dataclass
class Renderer:
    """One run's templates and shop facts; compiles each body at most once."""

    workspace_id: int
    bodies: Mapping[tuple[str, str], template_store.TemplateBody]
    fallback_locale: str
    merchant: str
    owners: Mapping[int, str]
    # Set for a survey run: its satisfaction buttons go above the opt-out button.
    survey_run_id: int | None = None
    _compiled: dict[tuple[str, str], templates.Compiled | str] = field(default_factory=dict)
    _chrome: dict[str, tuple[str, Keyboard]] = field(default_factory=dict)
    _days: dict[tuple[date, str], str] = field(default_factory=dict)
    _uses: dict[str, bool] = field(default_factory=dict)

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        *,
        workspace_id: int,
        key: str,
        fallback_locale: str,
        merchant: str,
        owners: Mapping[int, str],
        survey_run_id: int | None = None,
    ) -> Renderer:
        """Read the current bodies of a template key for the run."""
        bodies = await template_store.current_bodies(session, workspace_id, key)
        if not bodies:
            logger.warning("run template %r has no text in workspace %d", key, workspace_id)
        return cls(workspace_id, bodies, fallback_locale, merchant, owners, survey_run_id)

    def render(self, row: Claimed, *, today: date, points: int = 0) -> Rendered | Skipped:
        """Return the recipient's message in their language and grade, or why they are skipped."""
        locale = row.locale if row.locale in LOCALES else self.fallback_locale
        body = template_store.pick(
            self.bodies, locale=locale, grade=row.grade, fallback_locale=self.fallback_locale
        )
        if body is None:
            return Skipped("template_missing")
        compiled = self._compile(body)
        if isinstance(compiled, str):
            return Skipped(compiled)
        hint, buttons = self._chrome_for(locale)
        # The same values as templates.customer_variables, with the per-language parts
        # (hint, formatted date) computed once per run instead of once per message.
        variables: dict[str, object] = {
            "first_name": templates.first_name_of(row.name),
            "name": row.name,
            "grade": row.grade or "",
            "owner": self.owners.get(row.owner_member_id or 0, self.merchant),
            "points": points,
            "merchant": self.merchant,
            "unsubscribe": hint,
            "today": self._day(today, locale),
        }
        try:
            text = templates.render(compiled, variables)
        except TemplateError as exc:
            logger.info("row %d skipped: template error (%s)", row.id, type(exc).__name__)
            return Skipped("template_error")
        return Rendered(text, buttons)

    def uses(self, variable: str) -> bool:
        """Return True when any of the run's bodies may show ``variable`` (asked once per run)."""
        found = self._uses.get(variable)
        if found is None:
            found = self._uses[variable] = any(
                _mentions(body.body, variable) for body in self.bodies.values()
            )
        return found

    def _compile(self, body: template_store.TemplateBody) -> templates.Compiled | str:
        key = (body.locale, body.variant)
        cached = self._compiled.get(key)
        if cached is None:
            try:
                cached = templates.compile_template(body.body)
            except InvalidInput:
                logger.warning(
                    "template %s/%s v%d does not compile", body.locale, body.variant, body.version
                )
                cached = "template_error"
            self._compiled[key] = cached
        return cached

    def _day(self, today: date, locale: str) -> str:
        day = self._days.get((today, locale))
        if day is None:
            day = self._days[(today, locale)] = templates.format_day(today, locale)
        return day

    def _chrome_for(self, locale: str) -> tuple[str, Keyboard]:
        chrome = self._chrome.get(locale)
        if chrome is None:
            chrome = (translate(locale, templates.UNSUBSCRIBE_HINT), self._keyboard(locale))
            self._chrome[locale] = chrome
        return chrome

    def _keyboard(self, locale: str) -> Keyboard:
        """Return the inline keyboard under every message of the run in ``locale``.

        Built once per language and run; one row per purpose.
        """
        opt_out = Button(translate(locale, OPT_OUT_LABEL), f"uo:{self.workspace_id}")
        rows: list[tuple[Button, ...]] = [(opt_out,)]
        if self.survey_run_id is not None:
            rows[:0] = [tuple(row) for row in survey_keyboard(self.survey_run_id, locale)]
        return tuple(rows)


def _mentions(source: str, variable: str) -> bool:
    try:
        return variable in meta.find_undeclared_variables(ENV.parse(source))
    except TemplateSyntaxError:
        return True  # cannot tell: assume it does (rendering will skip the recipient anyway)
