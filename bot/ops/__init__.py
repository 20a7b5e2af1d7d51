"""Operations: logging set-up, backups on a schedule, health and metrics endpoints, doctor.

This package sits at the composition edge beside ``bot.app`` and ``bot.cli``: it
may use every layer, and no layer imports it.
"""
