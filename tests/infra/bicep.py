"""Read the Bicep templates through pycep-parser and walk the expression trees it returns."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
# pycep keeps interpolated strings as text, so calls inside `${...}` are only visible as text.
_LIST_CALL = re.compile(r"\b(list[A-Za-z]*|getSecret)\s*\(")


def bicep_files() -> list[Path]:
    """Every .bicep file under infra/, main first."""
    return sorted(INFRA.rglob("*.bicep"), key=lambda p: (p != MAIN, str(p)))


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    """The pycep JSON of one template (parsed once per test session)."""
    return dict(BicepParser().parse(file_path=path))


def module(name: str) -> dict[str, Any]:
    """The parsed template of infra/app/<name>.bicep."""
    return parse(INFRA / "app" / f"{name}.bicep")


@dataclass(frozen=True)
class Resource:
    """One declared resource with its `if`/loop wrapper removed."""

    symbol: str
    type: str
    existing: bool
    body: dict[str, Any]
    condition: Any
    loop: dict[str, Any] | None


def resources(template: dict[str, Any]) -> list[Resource]:
    """The template's resources; conditional and looped bodies are unwrapped."""
    found = []
    for symbol, decl in template.get("resources", {}).items():
        config = decl["config"]
        condition = config.get("condition")
        loop = config.get("loop_type")
        # pycep nests the real body one level down when the resource has `if` or `for`.
        body = config["config"] if ("condition" in config and "config" in config) else config
        found.append(Resource(symbol, decl["type"], decl["existing"], body, condition, loop))
    return found


def resources_of_type(template: dict[str, Any], type_: str) -> list[Resource]:
    """Resources of one ARM type, e.g. 'Microsoft.Web/sites'."""
    return [r for r in resources(template) if r.type.lower() == type_.lower()]


def only(template: dict[str, Any], type_: str) -> Resource:
    """The single resource of a type; fails if there is not exactly one."""
    matches = resources_of_type(template, type_)
    assert len(matches) == 1, f"expected one {type_}, found {[r.symbol for r in matches]}"
    return matches[0]


def all_resources() -> Iterator[tuple[Path, Resource]]:
    """Every resource in every template, with its file."""
    for path in bicep_files():
        for res in resources(parse(path)):
            yield path, res


def unquote(key: str) -> str:
    """pycep keeps quotes on quoted object keys ("'azd-env-name'")."""
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == "'" else key


def walk(node: Any) -> Iterator[Any]:
    """Every dict, list and scalar in an expression tree, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def references(node: Any) -> set[str]:
    """Identifiers an expression may refer to (bare names and names inside `${...}`).

    pycep renders a reference `foo` and the literal 'foo' alike, so this over-approximates,
    which is the safe side for "must not reference" assertions.
    """
    names: set[str] = set()
    for item in walk(node):
        if not isinstance(item, str):
            continue
        if _IDENTIFIER.fullmatch(item):
            names.add(item)
        for inner in _INTERPOLATION.findall(item):
            names.update(_IDENTIFIER.findall(inner))
    return names


def list_calls(node: Any) -> set[str]:
    """Names of list*() / getSecret() calls anywhere in an expression tree."""
    calls: set[str] = set()
    for item in walk(node):
        if isinstance(item, dict):
            function = item.get("function")
            if isinstance(function, dict) and function.get("type") == "list_func":
                calls.add(function["parameters"]["func_name"])
            operator = item.get("operator")
            if isinstance(operator, dict) and operator.get("type") == "function_accessor":
                calls.add(operator["operands"]["func_name"])
        elif isinstance(item, str):
            for inner in _INTERPOLATION.findall(item):
                calls.update(_LIST_CALL.findall(inner))
    return calls


def secure_parameters(template: dict[str, Any]) -> set[str]:
    """Names of @secure() parameters."""
    return {
        name
        for name, param in template.get("parameters", {}).items()
        if any(d["type"] == "secure" for d in param["decorators"])
    }


def decorator(param: dict[str, Any], kind: str) -> Any:
    """The argument of one decorator on a parameter, or None when absent."""
    for dec in param["decorators"]:
        if dec["type"] == kind:
            return dec.get("argument", True)
    return None


def interpolated_paths(node: Any) -> set[str]:
    """Dotted names inside `${...}` interpolations, e.g. 'abbrs.keyVaultVaults'."""
    paths: set[str] = set()
    for item in walk(node):
        if isinstance(item, str):
            for inner in _INTERPOLATION.findall(item):
                paths.update(_DOTTED.findall(inner))
    return paths


def property_path(node: Any) -> list[Any]:
    """Flatten a property_accessor chain (`a.b.c`) into ['a', 'b', 'c']."""
    if isinstance(node, dict) and node.get("operator", {}).get("type") == "property_accessor":
        operands = node["operator"]["operands"]
        return property_path(operands["operand_1"]) + property_path(operands["operand_2"])
    return [node]
