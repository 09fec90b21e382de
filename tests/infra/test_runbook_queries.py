"""The runbook's queries are deployed as saved searches, one per runbook question (issue 6)."""

from __future__ import annotations

from tests.infra.bicep import ROOT, module, resources

RUNBOOK = (ROOT / "docs" / "runbook.md").read_text()


def test_runbook_queries_are_saved_in_the_workspace() -> None:
    template = module("monitoring")
    saved = [r for r in resources(template) if r.type == "Microsoft.OperationalInsights/workspaces/savedSearches"]
    assert saved, "monitoring.bicep declares no saved searches"
    queries = template["variables"]["runbookQueries"]["value"]
    names = {q["name"] for q in queries}
    assert {"scim-user-by-resource-id", "scim-refusals-by-reason", "scim-token-failures", "scim-latency-p95"} <= names
    for query in queries:
        # Each saved query is bounded in time (the workspace bills by data scanned).
        assert "TimeGenerated > ago(" in query["query"], query["name"]


def test_every_dimension_the_queries_use_is_documented_in_the_runbook() -> None:
    queries = module("monitoring")["variables"]["runbookQueries"]["value"]
    for query in queries:
        for part in query["query"].split('Properties["')[1:]:
            dimension = part.split('"', 1)[0]
            assert f"`{dimension}`" in RUNBOOK, dimension
