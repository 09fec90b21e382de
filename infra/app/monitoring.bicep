// Log Analytics workspace and workspace-based Application Insights. Local (key) auth is off on
// both, so telemetry is accepted only with an Entra token: the app's identity gets Monitoring
// Metrics Publisher in rbac.bicep and sends APPLICATIONINSIGHTS_AUTHENTICATION_STRING
// (azure-stack.md §3.4).

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
// Workspace tables use the Log Analytics names (AppRequests, AppTraces; customDimensions is Properties).
var runbookQueries = [
  {
    name: 'scim-user-by-resource-id'
    displayName: 'SCIM: requests that touched a resource id'
    query: 'AppRequests | where TimeGenerated > ago(7d) | where tostring(Properties["scim.resource_id"]) == "<id from Entra>" | project TimeGenerated, Name, ResultCode, Outcome = tostring(Properties["scim.outcome"]), ScimType = tostring(Properties["scim.scim_type"]), OperationId | order by TimeGenerated desc'
  }
  {
    name: 'scim-directory-failures'
    displayName: 'SCIM: failures of one directory in a time window'
    query: 'AppRequests | where TimeGenerated > ago(1d) | where tostring(Properties["scim.directory"]) == "<directory>" and Success == false | project TimeGenerated, Name, ResultCode, ScimType = tostring(Properties["scim.scim_type"]), OperationId'
  }
  {
    name: 'scim-refusal-details'
    displayName: 'SCIM: refusal details for a userName (needs SCIM_LOG_PII=true)'
    query: 'AppTraces | where TimeGenerated > ago(7d) and Message startswith "request refused" | where tostring(Properties["scim.detail"]) has "<userName>" | project TimeGenerated, Message, Detail = tostring(Properties["scim.detail"]), OperationId'
  }
  {
    name: 'scim-failures-by-scimtype'
    displayName: 'SCIM: failures by scimType, last 24 hours'
    query: 'AppRequests | where TimeGenerated > ago(24h) and Success == false | summarize Failures = count() by Operation = Name, ResultCode, ScimType = tostring(Properties["scim.scim_type"]) | order by Failures desc'
  }
  {
    name: 'scim-token-failures'
    displayName: 'SCIM: token failures by client and source address'
    query: 'AppRequests | where TimeGenerated > ago(24h) and Name == "token.issue" and Success == false | summarize Failures = count(), First = min(TimeGenerated), Last = max(TimeGenerated) by Client = tostring(Properties["scim.client_id"]), Error = tostring(Properties["scim.oauth_error"]), Address = ClientIP | order by Failures desc'
  }
  {
    name: 'scim-latency-p95'
    displayName: 'SCIM: latency p95 by operation'
    query: 'AppRequests | where TimeGenerated > ago(24h) | summarize P50 = percentile(DurationMs, 50), P95 = percentile(DurationMs, 95), Calls = count(), RoundTrips = avg(todouble(Properties["scim.store.round_trips"])) by Name | order by P95 desc'
  }
]

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
