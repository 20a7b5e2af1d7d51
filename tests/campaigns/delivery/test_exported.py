"""The delivery package's public names are exactly these."""

from __future__ import annotations

import bot.campaigns.delivery as delivery


def test_public_names_are_pinned() -> None:
    assert sorted(delivery.__all__) == [
        "DeliveryEngine",
        "RunReport",
        "counts",
        "enqueue",
        "report",
    ]
    for name in delivery.__all__:
        assert getattr(delivery, name) is not None
