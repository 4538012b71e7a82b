"""Every `whitecaves` command explains itself: --help with an example, every option described."""
from __future__ import annotations

import click
from click.testing import CliRunner

from cli import main


def _commands(group: click.Group, path=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, path + (name,))
        else:
            yield path + (name,), cmd


def test_every_command_has_an_example_and_every_option_a_help_text():
    missing = []
    for path, cmd in _commands(main):
        if "Example" not in (cmd.help or ""):
            missing.append(f"{' '.join(path)}: no example")
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.help:
                missing.append(f"{' '.join(path)} {p.opts[0]}: no help")
    assert not missing, "\n".join(missing)


def test_help_runs_for_every_command():
    runner = CliRunner()
    for path, _ in _commands(main):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, path
