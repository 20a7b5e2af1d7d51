"""A Telegram SCRM bot for micro-merchants."""
