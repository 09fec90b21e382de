"""Every KQL query the repository ships, and Microsoft's Kusto parser's verdict on it (tests/infra/kql_check.js)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.infra.bicep import INFRA, ROOT, bicep_files, parse

CHECKER = Path(__file__).with_name("kql_check.js")
_FENCED = re.compile(r"^```kusto\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _strings_under_query(node: Any) -> Iterator[str]:
    """Every string value of a `query` key, at any depth (saved searches, workbook items)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "query" and isinstance(value, str):
                yield value
            else:
                yield from _strings_under_query(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings_under_query(item)


def queries() -> dict[str, str]:
    """id → query: the `kusto` blocks of README.md and docs/*.md, the queries in infra's Bicep and JSON."""
    found: dict[str, str] = {}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for n, match in enumerate(_FENCED.finditer(page.read_text()), 1):
            found[f"{page.relative_to(ROOT)}#{n}"] = match.group(1)
    for path in bicep_files():
        for n, query in enumerate(_strings_under_query(parse(path)), 1):
            found[f"{path.relative_to(ROOT)}#{n}"] = query
    for path in sorted(INFRA.rglob("*.json")):
        for n, query in enumerate(_strings_under_query(json.loads(path.read_text())), 1):
            found[f"{path.relative_to(ROOT)}#{n}"] = query
    return found


@dataclass(frozen=True)
class Verdict:
    errors: list[str]  # syntax, unknown tables and columns; empty for a query that checks
    columns: list[str]  # the result's columns, in order


def check(named: dict[str, str]) -> dict[str, Verdict]:
    """id → the parser's verdict on that query."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH; `make install` needs Node.js 20 for the Kusto parser")
    payload = json.dumps([{"id": k, "query": v} for k, v in named.items()])
    done = subprocess.run([node, str(CHECKER)], input=payload, capture_output=True, text=True, check=True, cwd=ROOT)
    return {item["id"]: Verdict(item["errors"], item["columns"]) for item in json.loads(done.stdout)}
