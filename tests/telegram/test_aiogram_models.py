"""aiogram's models, built at first use: every one of them still builds, in a fresh process.

The adapter imports ``aiogram.types`` with the closing rebuild of its ~300 models kept
for later (``bot/telegram/_aiogram_models.py``). A model that could not be built then
would fail only when the bot first meets it, in a user's chat; this test builds them
all, and the response model of every API method, as a first use would.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("aiogram")
pytestmark = pytest.mark.timeout(120)

CHECK = """
import bot.telegram._aiogram_models
import aiogram.methods
import aiogram.types
from aiogram.methods.base import Response, TelegramMethod
from pydantic import BaseModel, ValidationError


def first_use(model):
    # A model is built when it is first used; validating an empty object builds it and
    # then fails for its required fields, which is fine. One that cannot be built
    # raises PydanticUserError ("not fully defined") instead.
    try:
        model.model_validate({})
    except ValidationError:
        pass
    assert model.__pydantic_complete__


def models():
    # Methods first: a method built before the types it names is the harder case.
    for module in (aiogram.methods, aiogram.types):
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, BaseModel):
                if value is TelegramMethod or not value.__module__.startswith("aiogram."):
                    continue
                yield name, value
                if issubclass(value, TelegramMethod):
                    yield name, Response[value.__returning__]


def main():
    built, failed = 0, []
    for name, model in models():
        try:
            first_use(model)
            built += 1
        except Exception as error:
            failed.append(f"{name}: {error!r}")
    print(built)
    print("\\n".join(failed))


main()
"""


def test_every_aiogram_model_and_response_builds_on_first_use() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=100, check=False
    )
    assert done.returncode == 0, done.stderr
    built, *failed = done.stdout.strip().split("\n")
    assert [line for line in failed if line] == []
    # aiogram 3 has several hundred types and methods; far fewer means the walk missed them.
    assert int(built) > 500
