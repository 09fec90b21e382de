"""Every KQL query in README.md, docs/ and infra/ parses under Microsoft's Kusto parser against Application Insights'
tables: syntax, table names and column names (issue 25)."""

from __future__ import annotations

import functools

import pytest

from tests.infra.kql import check, queries

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
def verdicts() -> dict[str, list[str]]:
    """One node process for every query (loading the parser takes seconds)."""
    return check({**QUERIES, **{f"wrong:{query}": query for query in WRONG}})


def test_the_runbook_the_saved_searches_and_the_workbook_are_all_found() -> None:
    sources = {name.split("#")[0] for name in QUERIES}
    assert {"docs/runbook.md", "infra/app/monitoring.bicep"} <= sources
    assert sum(name.startswith("docs/runbook.md") for name in QUERIES) >= 6


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_parses_against_app_insights_tables(name: str) -> None:
    assert verdicts()[name] == [], QUERIES[name]


@pytest.mark.parametrize(("query", "error"), WRONG.items())
def test_a_wrong_table_column_or_syntax_fails_the_check(query: str, error: str) -> None:
    errors = verdicts()[f"wrong:{query}"]
    assert any(e.startswith(error) for e in errors), errors
