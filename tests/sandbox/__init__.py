"""Tests of the Bot API emulator in bot/sandbox."""
