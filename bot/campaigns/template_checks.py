"""Checking and previewing admin-written text: in the render pool, under its hard time limit.

Handlers and services pass the pool they were given. Without one (tools and
tests that start no worker processes) the same checks run in this process,
bounded only by the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.campaigns import templates
from bot.campaigns.render_pool import RenderPool


async def check(renders: RenderPool | None, source: str) -> str:
    """Check a text as saving does; return it with Unix line ends.

    Raises:
        InvalidInput: naming what is wrong, including a render that runs too long.
        RenderUnavailable: when no render worker could be had in time.
    """
    if renders is not None:
        return await renders.check(source)
    compiled = templates.compile_template(source)
    templates.check_samples(compiled)
    return compiled.source


async def render_one(
    renders: RenderPool | None, source: str, variables: Mapping[str, object]
) -> str:
    """Fill in a text for one customer (a preview, a confirmation).

    Raises:
        InvalidInput: when the text breaks the rules.
        TemplateError: when it fails or runs too long for these values.
        RenderUnavailable: when no render worker could be had in time.
    """
    source = templates.check_source(source)
    if renders is not None:
        return await renders.render_one(source, variables)
    return templates.render(templates.compile_template(source), variables)
