"""The layout's rules, checked from the code itself (docs/architecture.md, "Layers").

Layers, bottom to top; a module may import its own layer and those below:
    supervision            (imports nothing of the project)
    runtime                (config, logs, processes, phones, ports, vocabulary)
    storage                (LMDB records; imports runtime only)
    transports
    commands               (the one command registry)
    domains                (chat, masters, conversations, balancing, health, agents, deals)
    actors                 (thin shells)
    daemon                 (the tree, the actor system, lifecycle)
    cli_commands, cli
"""
from __future__ import annotations

import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = [
    {"supervision"}, {"runtime"}, {"storage"}, {"transports"}, {"commands"},
    {"chat", "masters", "conversations", "balancing", "health", "agents", "deals"},
    {"actors"}, {"daemon"}, {"cli_commands", "cli"},
]
RANK = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}
# Domains may use one another in this order only (no cycles between them).
# agents comes before deals: a deal pays its agent by the agent's plan and licence (deals/payee.py).
DOMAIN_ORDER = ["chat", "masters", "conversations", "balancing", "health", "agents", "deals"]
MAX_LINES = 400
LONGER_FOR_A_REASON = {   # path → why it may be longer
    "supervision/supervisor.py": "the supervisor's one state machine (start, restart, intensity, shutdown) "
                                 "reads best whole, as OTP's supervisor.erl does; status lives apart",
    "transports/sim/transport.py": "one network's client (connect, inbound, outbound) in one place; "
                                   "to be split by concern with the inbound/outbound media work",
    "transports/sim/server.py": "the simulated network's whole protocol; to be split with the media work",
}


def project_modules():
    for pkg in RANK:
        path = os.path.join(ROOT, pkg)
        if pkg == "cli":
            yield "cli", os.path.join(ROOT, "cli.py")
            continue
        for dirpath, _, files in os.walk(path):
            for f in files:
                if f.endswith(".py"):
                    full = os.path.join(dirpath, f)
                    rel = os.path.relpath(full, ROOT)[:-3].replace(os.sep, ".")
                    yield rel.removesuffix(".__init__"), full


def imports_of(path: str) -> list[str]:
    """Every module this file imports, at the top or inside functions
    (`from storage import masters` imports storage.masters)."""
    tree = ast.parse(open(path).read(), path)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for a in node.names:
                sub = os.path.join(ROOT, *node.module.split("."), a.name)
                out.append(f"{node.module}.{a.name}" if os.path.exists(sub + ".py") or os.path.isdir(sub)
                           else node.module)
    return out


def test_every_import_points_down_or_sideways_within_its_layer():
    wrong = []
    for module, path in project_modules():
        mine = module.split(".")[0]
        for imported in imports_of(path):
            theirs = imported.split(".")[0]
            if theirs not in RANK or theirs == mine:
                continue
            if RANK[theirs] > RANK[mine]:
                wrong.append(f"{module} imports {imported} (a layer above)")
            elif RANK[theirs] == RANK[mine] and mine in DOMAIN_ORDER and \
                    DOMAIN_ORDER.index(theirs) > DOMAIN_ORDER.index(mine):
                wrong.append(f"{module} imports {imported} (a domain after it)")
            elif RANK[theirs] == RANK[mine] and mine not in DOMAIN_ORDER:
                wrong.append(f"{module} imports {imported} (another package of its layer)")
    assert wrong == []


def test_no_import_cycles():
    graph = {}
    for module, path in project_modules():
        graph[module] = {i for i in imports_of(path) if i.split(".")[0] in RANK and i != module}
    names = set(graph)

    def resolve(name):   # "from storage import masters" names the package; "storage.masters" the module
        return name if name in names else None

    seen, stack, cycles = set(), [], []

    def visit(node):
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if resolve(nxt):
                visit(nxt)
        stack.pop()
    for module in sorted(graph):
        visit(module)
    assert cycles == []


STORE_CALL = re.compile(r"\btxn\.(get|put|delete|scan|cursor|raw|next_seq)\b|\.cursor\(|\bopen_db\(|\.dbs\[")
# The simulated WhatsApp network keeps its own LMDB (the network's state, not the daemon's store).
NOT_THE_STORE = {"transports/sim/state.py"}


def test_only_storage_touches_the_store():
    wrong = []
    for module, path in project_modules():
        rel = os.path.relpath(path, ROOT)
        if module.startswith("storage") or rel in NOT_THE_STORE:
            continue
        for n, line in enumerate(open(path), 1):
            if STORE_CALL.search(line):
                wrong.append(f"{rel}:{n}: {line.strip()}")
    assert wrong == []


def test_no_file_grows_past_the_limit_without_a_reason():
    long = []
    for module, path in project_modules():
        rel = os.path.relpath(path, ROOT)
        n = sum(1 for _ in open(path))
        if n > MAX_LINES and rel not in LONGER_FOR_A_REASON:
            long.append(f"{rel}: {n} lines")
    assert long == []


CITED = re.compile(r"([\w./-]+\.md)\b")


def test_comments_cite_only_what_is_in_the_repository():
    """A page a comment or docstring names (docs/x.md, README.md) exists in the repository."""
    wrong = []
    for module, path in project_modules():
        for n, line in enumerate(open(path), 1):
            for cited in CITED.findall(line):
                if not os.path.exists(os.path.join(ROOT, cited.removeprefix("../"))) or cited.startswith(".."):
                    wrong.append(f"{os.path.relpath(path, ROOT)}:{n}: {cited}")
    assert wrong == []


def test_every_package_is_installed():
    """setup.cfg lists every top-level package: an installed `whitecaves` imports them from anywhere."""
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    listed = {p.strip().rstrip("*") for p in cfg["options.packages.find"]["include"].split() if p.strip()}
    packages = {d for d in os.listdir(ROOT) if os.path.isfile(os.path.join(ROOT, d, "__init__.py"))}
    assert packages - {"tests", "bench"} == listed
