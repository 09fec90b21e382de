"""Every KQL query in README.md, docs/ and infra/ parses under Microsoft's Kusto parser against Application Insights'
tables: syntax, table names and column names."""

from __future__ import annotations

import functools
import re

import pytest

from tests.infra.bicep import ROOT
from tests.infra.kql import Verdict, check, queries

QUERIES = queries()
# Queries that must fail, each with the parser's code for why.
WRONG = {
    "request | take 1": "KS204",  # no such table
    'requests | where resultcode == "500"': "KS142",  # no such column (resultCode)
    "AppRequests | project timestamp": "KS142",  # a classic column on the workspace table
    "requests | summarize first = min(timestamp)": "KS228",  # `first` unbracketed
    "requests | where": "KS006",  # syntax
}


@functools.cache
def verdicts() -> dict[str, Verdict]:
    """One node process for every query (loading the parser takes seconds)."""
    return check({**QUERIES, **{f"wrong:{query}": query for query in WRONG}})


def test_the_runbook_the_saved_searches_and_the_workbook_are_all_found() -> None:
    sources = {name.split("#")[0] for name in QUERIES}
    assert {"docs/runbook.md", "infra/app/monitoring.bicep"} <= sources
    assert sum(name.startswith("docs/runbook.md") for name in QUERIES) >= 6


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_parses_against_app_insights_tables(name: str) -> None:
    assert verdicts()[name].errors == [], QUERIES[name]


@pytest.mark.parametrize(("query", "error"), WRONG.items())
def test_a_wrong_table_column_or_syntax_fails_the_check(query: str, error: str) -> None:
    errors = verdicts()[f"wrong:{query}"].errors
    assert any(e.startswith(error) for e in errors), errors


def _sample_headers(page: str) -> list[list[str]]:
    """The header of the first table after each `kusto` block of a page: the query's documented sample output."""
    headers = []
    for block in re.split(r"^```kusto\n", page, flags=re.MULTILINE)[1:]:
        after = block.split("```", 1)[1]
        table = next((line for line in after.splitlines() if line.startswith("|")), "")
        headers.append([cell.strip() for cell in table.strip("|").split("|")])
    return headers


def test_each_runbook_query_shows_a_sample_output_with_the_columns_it_returns() -> None:
    page = (ROOT / "docs" / "runbook.md").read_text()
    for n, header in enumerate(_sample_headers(page), 1):
        assert header == verdicts()[f"docs/runbook.md#{n}"].columns, f"runbook query {n}"
