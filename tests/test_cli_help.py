"""Every `whitecaves` command explains itself: --help with an example, every option described."""
from __future__ import annotations

import click
from click.testing import CliRunner

from cli import COMMANDS, main


def _commands(group: click.Group, path=()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
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


def test_the_lazy_command_map_names_every_command_its_module_registers():
    """cli.COMMANDS says which module to import for a command: it must match what they register."""
    import importlib

    registered = {}
    for module in set(COMMANDS.values()):
        group = click.Group()
        importlib.import_module(f"cli_commands.{module}").register(group)
        registered.update({name: module for name in group.commands})
    assert registered == COMMANDS


def test_dashboard_event_details_read_as_words():
    from cli_commands.health import event_detail

    assert event_detail("failover", {"status": "completed", "count": 1, "reason": "device logged_out",
                                     "targets": {"+971553633595": 1}}) == \
        "completed: 1 conversation to +971553633595 (1); device logged_out"
    assert event_detail("health", {"old": "healthy", "new": "failed", "reason": "missed heartbeats"}) == \
        "healthy → failed (missed heartbeats)"
    assert event_detail("alert", {"level": "critical", "alert": "master_failed", "text": "device logged_out"}) == \
        "[critical] master_failed: device logged_out"
    assert event_detail("admin_added", {"phone": "+971500000001"}) == "phone: +971500000001"


def test_tables_show_text_as_it_is(capsys):
    """A customer's message can contain anything, rich markup included: shown verbatim, never a crash."""
    from cli_commands.common import table

    table(None, ["text"], [["[/b] [critical] [bold]x[/bold]"]])
    assert "[/b] [critical] [bold]x[/bold]" in capsys.readouterr().out
