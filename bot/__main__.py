"""Allow ``python -m bot``, the same as the ``scrm-bot`` console script."""

from bot.cli import main

main()
