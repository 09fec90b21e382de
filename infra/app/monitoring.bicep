// Log Analytics workspace and workspace-based Application Insights. Local (key) auth is off on
// both, so telemetry is accepted only with an Entra token: the app's identity gets Monitoring
// Metrics Publisher in rbac.bicep and sends APPLICATIONINSIGHTS_AUTHENTICATION_STRING
// (docs/reference/azure.md §3).

@description('Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Azure region.')
param location string

@description('Tags applied to both resources.')
param tags object

@description('Days Log Analytics keeps data.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    retentionInDays: retentionInDays
    sku: {
      name: 'PerGB2018'
    }
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

// The runbook's queries (docs/runbook.md), saved in the workspace under the category "SCIM runbook".
// Workspace tables use the Log Analytics names (AppRequests, AppTraces; customDimensions is Properties). Request
// rows are named after the SCIM operation (user.get, token.issue, ...); the caller's address is the
// scim.client_address dimension, since the component masks ClientIP (tests/telemetry/test_envelopes.py).
var runbookQueries = [
  {
    name: 'scim-user-by-resource-id'
    displayName: 'SCIM: requests that touched a resource id'
    query: 'AppRequests | where TimeGenerated > ago(7d) | where tostring(Properties["scim.resource_id"]) == "<id from Entra>" | project TimeGenerated, Name, ResultCode, Refusal = tostring(Properties["scim.refusal"]), ScimType = tostring(Properties["scim.scim_type"]), OperationId | order by TimeGenerated desc'
  }
  {
    name: 'scim-directory-failures'
    displayName: 'SCIM: failures of one directory in a time window'
    query: 'AppRequests | where TimeGenerated > ago(1d) | where tostring(Properties["scim.directory"]) == "<directory>" and Success == false | project TimeGenerated, Name, ResultCode, Refusal = tostring(Properties["scim.refusal"]), OperationId'
  }
  {
    name: 'scim-refusal-details'
    displayName: 'SCIM: refusal details for a userName (needs SCIM_LOG_PII=true)'
    query: 'AppTraces | where TimeGenerated > ago(7d) and Message startswith "request refused" | where tostring(Properties["scim.detail"]) has "<userName>" | project TimeGenerated, Message, Detail = tostring(Properties["scim.detail"]), OperationId'
  }
  {
    name: 'scim-refusals-by-reason'
    displayName: 'SCIM: refusals by reason, last 24 hours'
    query: 'AppRequests | where TimeGenerated > ago(24h) and Success == false | summarize Failures = count() by Operation = Name, ResultCode, Refusal = tostring(Properties["scim.refusal"]) | order by Failures desc'
  }
  {
    name: 'scim-refused-names'
    displayName: 'SCIM: group and role names Entra sent that match nothing (needs SCIM_LOG_PII=true)'
    query: 'AppRequests | where TimeGenerated > ago(24h) and tostring(Properties["scim.refusal"]) in ("unknown_group", "unknown_role", "group_name_rule", "role_name_rule") | summarize Refusals = count(), LastSeen = max(TimeGenerated) by Directory = tostring(Properties["scim.directory"]), Refusal = tostring(Properties["scim.refusal"]), Sent = tostring(Properties["scim.refused_value"]), Closest = tostring(Properties["scim.closest_name"]) | order by Refusals desc'
  }
  {
    name: 'scim-token-failures'
    displayName: 'SCIM: token failures by client and source address'
    query: 'AppRequests | where TimeGenerated > ago(24h) and Name == "token.issue" and Success == false | summarize Failures = count(), First = min(TimeGenerated), Last = max(TimeGenerated) by Client = tostring(Properties["scim.client_id"]), Error = tostring(Properties["scim.oauth_error"]), Address = tostring(Properties["scim.client_address"]) | order by Failures desc'
  }
  {
    name: 'scim-latency-p95'
    displayName: 'SCIM: latency p95 by operation'
    query: 'AppRequests | where TimeGenerated > ago(24h) | summarize P50 = percentile(DurationMs, 50), P95 = percentile(DurationMs, 95), Calls = count(), RoundTrips = avg(todouble(Properties["scim.store.round_trips"])) by Name | order by P95 desc'
  }
  {
    name: 'scim-storage-faults'
    displayName: 'SCIM: 503s and the failed storage or Key Vault calls under them'
    query: 'AppRequests | where TimeGenerated > ago(24h) and ResultCode == "503" | join kind=leftouter (AppDependencies | where TimeGenerated > ago(24h) and Success == false | project OperationId, Call = Name) on OperationId | summarize Requests = dcount(OperationId), FailedCalls = countif(isnotempty(Call)) by bin(TimeGenerated, 5m), Call | order by TimeGenerated desc'
  }
  {
    name: 'scim-exception-by-reference'
    displayName: 'SCIM: the unexpected error behind a 500 reference'
    query: 'AppExceptions | where TimeGenerated > ago(7d) and OuterMessage endswith "<reference>" | project TimeGenerated, ExceptionType, OuterMessage, OperationId, Details'
  }
]

// The on-call workbook (docs/runbook.md): request rate and latency by operation, refusals by reason and value,
// token failures by client and address, storage 503s and the change feed's lag, over the component's tables.
// Its queries are parsed by Microsoft's Kusto parser in tests/infra/test_kql.py like every other query here.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsights.id, 'scim-on-call-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'SCIM on-call'
    category: 'workbook'
    serializedData: loadTextContent('workbook.json')
    sourceId: applicationInsights.id
    version: '1.0'
  }
}

resource savedQueries 'Microsoft.OperationalInsights/workspaces/savedSearches@2020-08-01' = [for q in runbookQueries: {
  parent: logAnalytics
  name: q.name
  properties: {
    category: 'SCIM runbook'
    displayName: q.displayName
    query: q.query
    version: 2
  }
}]

output applicationInsightsName string = applicationInsights.name
output workbookId string = workbook.id
