"""A local Telegram Bot API emulator for end-to-end tests and the web chat sandbox.

Entry points live in ``bot.sandbox.server`` (``EmulatorConfig``, ``create_app``,
``serve``, ``run``); the control API is documented in ``bot.sandbox.control``.
"""
