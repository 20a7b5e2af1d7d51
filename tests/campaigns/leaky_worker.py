"""A render worker whose sandbox has a hole: ``|round`` without its precision bound.

It stands for "a construct nobody thought of": the real worker loop and sandbox,
minus one guard, so ``{{ points|round(-99999999) }}`` spins inside one Python
call where no cooperative deadline can stop it. Only the pool's hard limit can.
Run by tests as ``python -m tests.campaigns.leaky_worker``.
"""

from __future__ import annotations

from jinja2.filters import FILTERS as JINJA_FILTERS

from bot.campaigns import render_worker, template_rules, template_sandbox


def open_the_hole() -> None:
    """Drop the precision bound of ``|round``, at save and at render."""
    template_rules.MAX_PRECISION = 10**12
    template_sandbox.ENV.filters["round"] = JINJA_FILTERS["round"]


if __name__ == "__main__":
    open_the_hole()
    render_worker.main()
