"""The runbook's queries are deployed as saved searches, one per runbook question."""

from __future__ import annotations

import json

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


def test_the_on_call_workbook_is_deployed_on_the_component_with_every_panel() -> None:
    template = module("monitoring")
    (workbook,) = [r for r in resources(template) if r.type == "Microsoft.Insights/workbooks"]
    properties = workbook.body["properties"]
    assert properties["sourceId"]["operator"]["operands"] == {"operand_1": "applicationInsights", "operand_2": "id"}
    assert properties["serializedData"]["function"]["parameters"]["file_path"] == "workbook.json"
    doc = json.loads((ROOT / "infra" / "app" / "workbook.json").read_text())
    queries = " ".join(item["content"].get("query", "") for item in doc["items"])
    # request rate and latency, refusals by reason and value, token failures by client and address,
    # storage 503s, the change feed's lag
    for needle in (
        "count() by bin(timestamp, 5m), name",
        "percentile(duration, 95)",
        'customDimensions["scim.refused_value"]',
        'customDimensions["scim.client_address"]',
        'resultCode == "503"',
        "scim.feed.lag_seconds",
    ):
        assert needle in queries, needle
