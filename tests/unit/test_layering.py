"""Imports point one way: every module has a rank, none imports a higher rank, and no modules import in a circle.
Private modules stay in their package and private names in their module.

Every import counts: module-level, inside a function and under ``if TYPE_CHECKING:`` (a cycle hidden in a
function is still a cycle a reader has to untangle). docs/architecture.md explains the layers.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Bottom to top: a module may import its own rank or a lower one. A new package or top-level module goes here.
RANKS: tuple[tuple[str, ...], ...] = (
    ("scim", "scim.errors", "scim.clock", "scim.model", "scim.config"),
    ("scim.protocol",),
    ("scim.telemetry",),
    ("scim.store", "scim.secrets"),
    ("scim.auth",),
    ("scim.service",),
    ("scim.entra", "scim.events", "scim.http"),
    ("scim.app",),
    ("scim.routes",),
    ("scim.dev",),
    ("scim.cli",),
    ("function_app",),
)

AZURE_SDKS = ("azure.core", "azure.data", "azure.identity", "azure.keyvault", "azure.monitor", "azure.storage")
IO_LIBRARIES = (
    "azure",
    "aiohttp",
    "requests",
    "httpx",
    "msal",
    "opentelemetry",
    "socket",
    "http.client",
    "urllib.request",
)


@dataclass(frozen=True, slots=True)
class Rule:
    """Modules under ``binds`` (but not under ``spares``) may not import anything under ``forbidden``."""

    why: str
    binds: tuple[str, ...]
    forbidden: tuple[str, ...]
    spares: tuple[str, ...] = ()


RULES = (
    Rule("protocol is pure: no I/O library", ("scim.protocol",), IO_LIBRARIES),
    Rule(
        "only store, secrets, telemetry, the change-feed queue, app and dev touch Azure SDKs",
        ("scim", "function_app"),
        AZURE_SDKS,
        ("scim.store", "scim.secrets", "scim.telemetry", "scim.events.queue", "scim.app", "scim.dev"),
    ),
    Rule("only the edges know azure.functions", ("scim",), ("azure.functions",), ("scim.dev.devhost",)),
    Rule(
        "service talks to the Store protocol, never to one store",
        ("scim.service",),
        ("scim.store.tables", "scim.store.memory"),
    ),
    Rule("msal stays inside scim.entra", ("scim", "function_app"), ("msal", "msal_extensions"), ("scim.entra",)),
    Rule(
        "scim.entra (Graph) is reached only by `scimctl entra` and the rotation timer, never on the request path",
        ("scim", "function_app"),
        ("scim.entra",),
        ("scim.entra", "scim.cli.entra", "function_app"),
    ),
    Rule(
        "scim.entra reaches storage through the services, never a store itself, the HTTP edge or Azure",
        ("scim.entra",),
        ("scim.store.tables", "scim.store.memory", "scim.http", "azure"),
    ),
)


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports: a module of the tree when it is one, else the dotted name as written
    line: int


def within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(root: Path) -> dict[str, Path]:
    """Every module of the tree: the scim package and function_app.py."""
    files = [*sorted((root / "scim").rglob("*.py")), root / "function_app.py"]
    return {module_name(root, path): path for path in files if path.exists()}


def resolve(name: str, modules: dict[str, Path]) -> str:
    """The longest module of the tree that ``name`` is or lies in; ``name`` itself when it is outside the tree."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return name


def package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def source_of(node: ast.ImportFrom, package: str) -> str:
    """The dotted name a ``from ... import`` reads from, a relative import resolved against ``package``."""
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    return base


def imports(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Everything ``module`` imports anywhere in its file, relative imports resolved, submodules named."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(module, resolve(alias.name, modules), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = source_of(node, package_of(module, path))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                target = submodule if submodule in modules else resolve(base, modules)
                found.append(Import(module, target, node.lineno))
    return list(dict.fromkeys(found))  # `from x import a, b` of one module is one import


def rank_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (length of the matching entry, its rank)
    for rank, names in enumerate(RANKS):
        for name in names:
            # "scim" ranks scim/__init__.py alone: a module that no other entry covers has no rank.
            covers = module == name or (name != "scim" and module.startswith(name + "."))
            if covers and (best is None or len(name) > best[0]):
                best = (len(name), rank)
    return None if best is None else best[1]


def where(module: str, modules: dict[str, Path], root: Path) -> str:
    return str(modules[module].relative_to(root))


def graph(root: Path) -> tuple[dict[str, Path], list[Import]]:
    modules = sources(root)
    return modules, [i for module, path in modules.items() for i in imports(module, path, modules)]


def unranked(root: Path) -> list[str]:
    modules = sources(root)
    return [
        f"{where(m, modules, root)} has no rank: add its package to RANKS in tests/unit/test_layering.py"
        for m in modules
        if rank_of(m) is None
    ]


def upward(root: Path) -> list[str]:
    """Each import of a higher rank, as 'scim/x.py imports scim.y (rank A → rank B)'."""
    modules, found = graph(root)
    offenders = []
    for i in found:
        if i.target not in modules:
            continue
        low, high = rank_of(i.module), rank_of(i.target)
        if low is not None and high is not None and high > low:
            offenders.append(f"{where(i.module, modules, root)}:{i.line} imports {i.target} (rank {low} → rank {high})")
    return offenders


def cycles(root: Path) -> list[str]:
    """Each strongly connected set of modules (Tarjan): one circle through it, and the other modules it holds."""
    modules, found = graph(root)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for i in found:
        if i.target in modules and i.target != i.module:
            edges[i.module].add(i.target)
    circles = []
    for component in components(edges):
        circle = " → ".join([*(path := circle_in(component, edges)), path[0]])
        others = sorted(component - set(path))
        circles.append(circle + (f" (the same circle of imports also holds {', '.join(others)})" if others else ""))
    return circles


def components(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def circle_in(component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """The shortest circle from the component's first module back to it (breadth first)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for other in sorted(edges[node] & component):
            if other == start:
                return paths[node]
            if other not in paths:
                paths[other] = [*paths[node], other]
                queue.append(other)
    raise AssertionError(f"no circle in {component}")


def broken_rules(root: Path) -> list[str]:
    modules, found = graph(root)
    return [
        f"{where(i.module, modules, root)}:{i.line} imports {i.target}: {rule.why}"
        for rule in RULES
        for i in found
        if within(i.module, rule.binds) and not within(i.module, rule.spares) and within(i.target, rule.forbidden)
    ]


def private_reaches(root: Path) -> list[str]:
    """A private module (``_name``) belongs to its package: nothing outside it imports it."""
    modules, found = graph(root)
    offenders = []
    for i in found:
        if i.target in modules and i.target.rpartition(".")[2].startswith("_") and not i.target.endswith("__"):
            owner = i.target.rpartition(".")[0]
            if not within(i.module, [owner]):
                offenders.append(f"{where(i.module, modules, root)}:{i.line} imports {i.target}, private to {owner}")
    return offenders


def private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def dotted(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None for anything but names and attributes."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute) and (head := dotted(node.value)) is not None:
        return [*head, node.attr]
    return None


def private_names(root: Path) -> list[str]:
    """A private name (``_x``) belongs to its module: no other module imports it or reads it off the module.

    This holds inside a package too. What a package's modules share lives in a private module (``_codec.py``)
    under public names, which private_reaches keeps inside the package; so a leading underscore on a name
    always means "used in this file only", and a reader can change such a name by reading one file.
    """
    modules = sources(root)
    offenders = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        bound: dict[str, str] = {}  # a local name that stands for a module of the tree -> that module
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.partition(".")[0]
                    bound[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom):
                base = source_of(node, package_of(module, path))
                for alias in node.names:
                    if f"{base}.{alias.name}" in modules:
                        bound[alias.asname or alias.name] = f"{base}.{alias.name}"
                    elif private(alias.name) and base in modules and base != module:
                        offenders.append(f"{where(module, modules, root)}:{node.lineno} imports {alias.name} of {base}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and private(node.attr) and (chain := dotted(node.value)):
                owner = ".".join([bound.get(chain[0], ""), *chain[1:]])
                if owner in modules and owner != module:
                    offenders.append(f"{where(module, modules, root)}:{node.lineno} reads {node.attr} of {owner}")
    return offenders


CHECKS = (unranked, upward, cycles, broken_rules, private_reaches, private_names)


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_the_tree_keeps_its_layers(check: Callable[[Path], list[str]]) -> None:
    """Every module ranked, no import upward, no circle, the purity rules, private modules and names kept at home."""
    found = check(ROOT)
    assert not found, "\n".join(found)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_sees_what_hides_in_functions_and_type_checking(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "scim/__init__.py": "",
            "scim/protocol/__init__.py": "",
            "scim/protocol/text.py": "def f():\n    from scim.routes import x\n",
            "scim/protocol/a.py": "def f():\n    from . import b\n",
            "scim/protocol/b.py": "from scim.protocol.a import f\n",
            "scim/store/__init__.py": "",
            "scim/store/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import D\n",
            "scim/store/d.py": "from scim.store import c\nimport requests\n",
            "scim/store/_e.py": "_shared = 1\n",
            "scim/store/f.py": "from ._e import _shared\nfrom . import _e\nimport scim.store.d\n_e.__name__\n",
            "scim/store/g.py": "import scim.store.d\nimport scim.store.d as dd\ndd._hidden, scim.store.d._hidden\n",
            "scim/routes.py": "x = 1\n",
            "scim/service/__init__.py": "from scim.store import _e\n",
            "scim/newthing.py": "",
            "function_app.py": "",
        },
    )
    assert upward(tmp_path) == ["scim/protocol/text.py:2 imports scim.routes (rank 1 → rank 8)"]
    assert cycles(tmp_path) == [
        "scim.protocol.a → scim.protocol.b → scim.protocol.a",
        "scim.store.c → scim.store.d → scim.store.c",
    ]
    assert unranked(tmp_path) == [
        "scim/newthing.py has no rank: add its package to RANKS in tests/unit/test_layering.py"
    ]
    assert private_reaches(tmp_path) == ["scim/service/__init__.py:1 imports scim.store._e, private to scim.store"]
    assert private_names(tmp_path) == [
        "scim/store/f.py:1 imports _shared of scim.store._e",  # inside its own package too
        "scim/store/g.py:3 reads _hidden of scim.store.d",
        "scim/store/g.py:3 reads _hidden of scim.store.d",
    ]
    write(tmp_path, {"scim/protocol/text.py": "import aiohttp\n"})
    assert broken_rules(tmp_path) == ["scim/protocol/text.py:1 imports aiohttp: protocol is pure: no I/O library"]
