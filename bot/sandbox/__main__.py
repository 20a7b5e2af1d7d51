"""Command line: ``python -m bot.sandbox [--host H] [--port P] [--token T] ...``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bot.sandbox.server import EmulatorConfig, run


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the emulator until interrupted."""
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=defaults.token)
    parser.add_argument("--bot-username", default=defaults.bot_username)
    parser.add_argument("--bot-first-name", default=defaults.bot_first_name)
    parser.add_argument("--public-url", default=None, help="base URL for file links")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument(
        "--state-file", type=Path, default=None, help="keep people and chats here over restarts"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    config = EmulatorConfig(
        token=args.token,
        bot_username=args.bot_username,
        bot_first_name=args.bot_first_name,
        public_url=args.public_url,
        state_file=args.state_file,
    )
    run(config, args.host, args.port)


if __name__ == "__main__":
    main()
