// Checks KQL queries with Microsoft's Kusto language service (@kusto/language-service-next, pinned in
// package.json): syntax, table names and column names, against Application Insights' tables.
//
// Input (stdin): JSON [{"id": "...", "query": "..."}].
// Output (stdout): JSON [{"id", "errors": ["KS142 @17: ..."], "columns": [the result's column names]}].
// A query that reads an App* table is checked against the Log Analytics workspace schema; any other against the
// classic Application Insights schema (requests, dependencies, ...), which is what the component's Logs blade and a
// workbook whose sourceId is the component see.
"use strict";

require("@kusto/language-service-next/bridge.min.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.min.js");

const K = global.Kusto.Language;

// The columns of Microsoft's table reference ("Azure Monitor Logs reference", AppRequests and the others, and the
// classic-to-workspace column map of the workspace-based Application Insights migration page). `success` is bool in
// both: the component is workspace-based (infra/app/monitoring.bicep), and its classic names read the App* tables.
const COMMON_CLASSIC = [
  "timestamp:datetime", "itemType:string", "itemId:string", "itemCount:int", "customDimensions:dynamic",
  "operation_Name:string", "operation_Id:string", "operation_ParentId:string", "operation_SyntheticSource:string",
  "session_Id:string", "user_Id:string", "user_AuthenticatedId:string", "user_AccountId:string",
  "application_Version:string", "client_Type:string", "client_Model:string", "client_OS:string", "client_IP:string",
  "client_City:string", "client_StateOrProvince:string", "client_CountryOrRegion:string", "client_Browser:string",
  "cloud_RoleName:string", "cloud_RoleInstance:string", "appId:string", "appName:string", "iKey:string",
  "sdkVersion:string", "_ResourceId:string",
];
const CLASSIC = {
  requests: [
    "id:string", "source:string", "name:string", "url:string", "success:bool", "resultCode:string",
    "duration:real", "performanceBucket:string", "customMeasurements:dynamic",
  ],
  dependencies: [
    "id:string", "target:string", "type:string", "name:string", "data:string", "success:bool",
    "resultCode:string", "duration:real", "performanceBucket:string", "customMeasurements:dynamic",
  ],
  traces: ["message:string", "severityLevel:int", "customMeasurements:dynamic"],
  exceptions: [
    "problemId:string", "handledAt:string", "type:string", "message:string", "assembly:string", "method:string",
    "outerType:string", "outerMessage:string", "outerAssembly:string", "outerMethod:string",
    "innermostType:string", "innermostMessage:string", "innermostAssembly:string", "innermostMethod:string",
    "severityLevel:int", "details:dynamic", "customMeasurements:dynamic",
  ],
  customMetrics: [
    "name:string", "value:real", "valueCount:int", "valueSum:real", "valueMin:real", "valueMax:real",
  ],
};

const COMMON_WORKSPACE = [
  "TenantId:string", "TimeGenerated:datetime", "Type:string", "_ItemId:string", "ItemCount:int",
  "Properties:dynamic", "OperationName:string", "OperationId:string", "ParentId:string", "SyntheticSource:string",
  "SessionId:string", "UserId:string", "UserAuthenticatedId:string", "UserAccountId:string", "AppVersion:string",
  "ClientType:string", "ClientModel:string", "ClientOS:string", "ClientIP:string", "ClientCity:string",
  "ClientStateOrProvince:string", "ClientCountryOrRegion:string", "ClientBrowser:string", "AppRoleName:string",
  "AppRoleInstance:string", "ResourceGUID:string", "IKey:string", "SDKVersion:string", "SourceSystem:string",
  "_ResourceId:string", "_BilledSize:real", "_IsBillable:string",
];
const WORKSPACE = {
  AppRequests: [
    "Id:string", "Source:string", "Name:string", "Url:string", "Success:bool", "ResultCode:string",
    "DurationMs:real", "PerformanceBucket:string", "Measurements:dynamic", "ReferencedItemId:string",
    "ReferencedType:string",
  ],
  AppDependencies: [
    "Id:string", "Target:string", "DependencyType:string", "Name:string", "Data:string", "Success:bool",
    "ResultCode:string", "DurationMs:real", "PerformanceBucket:string", "Measurements:dynamic",
  ],
  AppTraces: ["Message:string", "SeverityLevel:int", "Measurements:dynamic"],
  AppExceptions: [
    "ProblemId:string", "HandledAt:string", "ExceptionType:string", "Message:string", "Assembly:string",
    "Method:string", "OuterType:string", "OuterMessage:string", "OuterAssembly:string", "OuterMethod:string",
    "InnermostType:string", "InnermostMessage:string", "InnermostAssembly:string", "InnermostMethod:string",
    "SeverityLevel:int", "Details:dynamic", "Measurements:dynamic",
  ],
  AppMetrics: ["Name:string", "Sum:real", "Min:real", "Max:real"],
};

function database(name, tables, common) {
  const symbols = Object.entries(tables).map(
    ([table, columns]) => new K.Symbols.TableSymbol.$ctor7(table, `(${[...columns, ...common].join(", ")})`, null),
  );
  return K.GlobalState.Default.WithDatabase(new K.Symbols.DatabaseSymbol.ctor(name, symbols));
}

const classic = database("applicationinsights", CLASSIC, COMMON_CLASSIC);
const workspace = database("workspace", WORKSPACE, COMMON_WORKSPACE);
const WORKSPACE_TABLE = new RegExp(`\\b(${Object.keys(WORKSPACE).join("|")})\\b`);

function check(id, query) {
  const globals = WORKSPACE_TABLE.test(query) ? workspace : classic;
  const code = K.KustoCode.ParseAndAnalyze(query, globals);
  const diagnostics = code.GetDiagnostics();
  const errors = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    if (d.Severity === "Error") errors.push(`${d.Code} @${d.Start}: ${d.Message}`);
  }
  // The result's column names, so a documented sample output can be held to the query.
  const columns = [];
  const result = code.ResultType;
  if (result && result.Columns) {
    for (let i = 0; i < result.Columns.Count; i++) columns.push(result.Columns.getItem(i).Name);
  }
  return { id, errors, columns };
}

const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(input.map(({ id, query }) => check(id, query))));
