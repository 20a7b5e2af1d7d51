# Two commands on a fresh machine with Python 3.11:
#   make run    set everything up and run the bot (the local sandbox when no token is set)
#   make test   set everything up and run lint, type checks and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint migrate emulator bench messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/scrm-bot run

lint: install
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy bot
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

migrate: install
	$(BIN)/scrm-bot migrate

emulator: install
	$(BIN)/scrm-bot emulator

bench: install
	$(BIN)/python -m bench

# Refresh the message template and the Chinese catalog after changing texts.
messages: install
	$(BIN)/pybabel extract -k N_ -k P_:1,2 --no-default-keywords --no-location -o bot/locales/messages.pot bot
	$(BIN)/pybabel update -i bot/locales/messages.pot -d bot/locales -l zh_CN --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
