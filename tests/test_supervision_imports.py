"""Layering: supervision/ is a library; it imports nothing of the project (only stdlib and thespian)."""
from __future__ import annotations

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT_PACKAGES = {"actors", "runtime", "storage", "transports", "cli_commands", "masters", "balancing",
                    "health", "chat", "deals", "agents", "daemon", "cli"}


def imported_modules(path: str) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, at any depth (functions too)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def supervision_files() -> list[str]:
    base = os.path.join(ROOT, "supervision")
    return sorted(os.path.join(d, f) for d, _, files in os.walk(base) for f in files if f.endswith(".py"))


def test_supervision_imports_nothing_of_the_project():
    files = supervision_files()
    assert len(files) >= 5, files  # the walk did find the package
    offences = [f"{os.path.relpath(path, ROOT)}:{line} imports {module}"
                for path in files for line, module in imported_modules(path)
                if module.split(".")[0] in PROJECT_PACKAGES]
    assert offences == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\ndef f():\n    from runtime import procs\n    import storage.x as y\n")
    assert [m for _, m in imported_modules(str(sample))] == ["os", "runtime", "storage.x"]
