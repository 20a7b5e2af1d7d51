"""Rendering one run's message: templates checked once per run, then filled per claimed batch.

Admin-written text is filled in by the render pool's worker processes, a whole
claimed batch per request, under a hard time limit per recipient; only text
that provably cannot run away (text, variables, if/else: ``templates.is_plain``,
like every default template) is filled in here, without the round trip. A template
that fails for a recipient skips that recipient with a recorded reason
(``template_error``); one that runs too long skips them as
``template_too_slow``, and so every later recipient of that text in the run
(rendering it again would only stall again). Nothing half-rendered is ever
sent. When no worker can be had, the batch is tried again later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from jinja2 import TemplateSyntaxError, meta
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns import template_store, templates
from bot.campaigns.delivery.outbox import Claimed
from bot.campaigns.render_pool import Failure, Job, Problem, RenderPool
from bot.campaigns.survey_buttons import OptOut, survey_keyboard
from bot.campaigns.template_sandbox import ENV
from bot.errors import InvalidInput, TemplateError
from bot.i18n import LOCALES, N_, translate
from bot.messaging import Button, Keyboard

logger = logging.getLogger(__name__)

OPT_OUT_LABEL = N_("Stop these messages")
TEMPLATE_ERROR = "template_error"
TEMPLATE_TOO_SLOW = "template_too_slow"
TEMPLATE_PROBLEMS = (TEMPLATE_ERROR, TEMPLATE_TOO_SLOW)
# A batch no render worker could take is claimed again this much later.
RENDER_RETRY_SECONDS = 30.0
# (row, the recipient's today, their points balance)
Recipient = tuple[Claimed, date, int]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready to send: HTML text and the opt-out button."""

    text: str
    buttons: Keyboard


@dataclass(frozen=True, slots=True)
class Skipped:
    """A recipient who gets nothing, and why (stored as the row's reason)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Deferred:
    """A recipient not rendered now (no render worker free): their row is claimed again later."""

    seconds: float


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
    key: str = ""
    # The first template problem of the run (a skip reason), and whether admins heard of it.
    problem: str | None = None
    told: bool = False
    # Per (locale, variant): the checked source, or the reason its recipients are skipped.
    _checked: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    # Bodies of only text, variables and if/else, compiled here: they cannot run away, so
    # they are filled in on this loop without a round trip to a worker.
    _inline: dict[tuple[str, str], templates.Compiled] = field(default_factory=dict)
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
        return cls(workspace_id, bodies, fallback_locale, merchant, owners, survey_run_id, key)

    async def render_batch(
        self, pool: RenderPool, recipients: Sequence[Recipient]
    ) -> list[Rendered | Skipped | Deferred]:
        """Return each recipient's message in their language and grade, or why not now or never.

        One request to the render pool for the whole batch, whatever its size.
        """
        out: list[Rendered | Skipped | Deferred | None] = [None] * len(recipients)
        jobs: list[Job] = []
        waiting: list[tuple[int, tuple[str, str], Keyboard]] = []
        for n, (row, today, points) in enumerate(recipients):
            locale = row.locale if row.locale in LOCALES else self.fallback_locale
            body = template_store.pick(
                self.bodies, locale=locale, grade=row.grade, fallback_locale=self.fallback_locale
            )
            if body is None:
                out[n] = Skipped("template_missing")
                continue
            slot = (body.locale, body.variant)
            source, ok = self._check(body)
            if not ok:
                out[n] = Skipped(source)
                continue
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
            inline = self._inline.get(slot)
            if inline is not None:
                out[n] = self._outcome(row, slot, buttons, _render_here(inline, variables))
                continue
            jobs.append(Job(source, variables))
            waiting.append((n, slot, buttons))
        results = await pool.render(jobs) if jobs else []
        for (n, slot, buttons), result in zip(waiting, results, strict=True):
            out[n] = self._outcome(recipients[n][0], slot, buttons, result)
        return [message if message is not None else Skipped(TEMPLATE_ERROR) for message in out]

    def _outcome(
        self, row: Claimed, slot: tuple[str, str], buttons: Keyboard, result: str | Failure
    ) -> Rendered | Skipped | Deferred:
        if isinstance(result, str):
            return Rendered(result, buttons)
        if result.problem is Problem.LATER:
            return Deferred(RENDER_RETRY_SECONDS)
        reason = TEMPLATE_TOO_SLOW if result.problem is Problem.SLOW else TEMPLATE_ERROR
        logger.info("row %d skipped: %s", row.id, reason)
        if result.problem is Problem.SLOW and self._checked[slot][1]:
            logger.warning(
                "template %s/%s of run in workspace %d is too slow: its recipients are skipped",
                *slot,
                self.workspace_id,
            )
            self._checked[slot] = (TEMPLATE_TOO_SLOW, False)
            self._inline.pop(slot, None)
        if self.problem is None or reason == TEMPLATE_TOO_SLOW:
            self.problem = reason
        return Skipped(reason)

    def uses(self, variable: str) -> bool:
        """Return True when any of the run's bodies may show ``variable`` (asked once per run)."""
        found = self._uses.get(variable)
        if found is None:
            found = self._uses[variable] = any(
                _mentions(body.body, variable) for body in self.bodies.values()
            )
        return found

    def _check(self, body: template_store.TemplateBody) -> tuple[str, bool]:
        """Return (source, True) once the body passed the rules, else (skip reason, False)."""
        key = (body.locale, body.variant)
        checked = self._checked.get(key)
        if checked is None:
            try:
                checked = (templates.check_source(body.body), True)
                if templates.is_plain(checked[0]):
                    self._inline[key] = templates.compile_template(checked[0])
            except InvalidInput:
                logger.warning(
                    "template %s/%s v%d does not compile", body.locale, body.variant, body.version
                )
                checked = (TEMPLATE_ERROR, False)
                self.problem = self.problem or TEMPLATE_ERROR
            self._checked[key] = checked
        return checked

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
        opt_out = OptOut(workspace_id=self.workspace_id).button(translate(locale, OPT_OUT_LABEL))
        rows: list[tuple[Button, ...]] = [(opt_out,)]
        if self.survey_run_id is not None:
            rows[:0] = [tuple(row) for row in survey_keyboard(self.survey_run_id, locale)]
        return tuple(rows)


def _render_here(compiled: templates.Compiled, variables: Mapping[str, object]) -> str | Failure:
    try:
        return templates.render(compiled, variables)
    except TemplateError as exc:
        problem = Problem.SLOW if exc.reason == templates.TOO_SLOW else Problem.ERROR
        return Failure(exc.reason, problem)


def _mentions(source: str, variable: str) -> bool:
    try:
        return variable in meta.find_undeclared_variables(ENV.parse(source))
    except TemplateSyntaxError:
        return True  # cannot tell: assume it does (rendering will skip the recipient anyway)
