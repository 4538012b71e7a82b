"""The README stays true: CI runs its test command, and its configuration table names every key."""
from __future__ import annotations

import os
import re

from runtime import config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(*path: str) -> str:
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


def test_ci_runs_exactly_the_readmes_test_command():
    readme, ci = _read("README.md"), _read(".ci", "run")
    commands = re.findall(r"^    (python3 -m venv .*)$", readme, re.M)
    assert len(commands) == 2 and commands[0].endswith("whitecaves demo")
    assert commands[1] in ci


def test_the_configuration_table_lists_every_key():
    readme = _read("README.md")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `\[(\w+)\]` \| (.*) \|$", readme, re.M)}
    for section, key, _default in config.describe():
        assert f"`{key} = " in rows.get(section, ""), f"README: [{section}] {key} missing"
