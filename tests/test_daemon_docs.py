"""docs/configuration.md documents every key of config.toml (and nothing that is not one)."""
import os
import re

from conftest import ROOT
from runtime import config


def documented_keys() -> set[tuple[str, str]]:
    with open(os.path.join(ROOT, "docs", "configuration.md")) as f:
        text = f.read()
    keys, section = set(), None
    for line in text.splitlines():
        header = re.match(r"### `\[(\w+)\]`", line)
        if header:
            section = header.group(1)
        elif section and line.startswith("| `"):
            first_column = line.split("|")[1]
            keys.update((section, k) for k in re.findall(r"`(\w+)`", first_column))
    return keys


def test_every_config_key_is_documented():
    actual = {(section, key) for section, key, _ in config.describe()}
    documented = documented_keys()
    assert not actual - documented, f"undocumented in docs/configuration.md: {sorted(actual - documented)}"
    assert not documented - actual, f"documented but not in runtime/config.py: {sorted(documented - actual)}"
