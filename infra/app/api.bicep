// Flex Consumption plan (FC1) and the function app. Flex takes runtime, scale and concurrency
// from `functionAppConfig`, and rejects or ignores several classic settings: none of
// FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE,
// WEBSITE_CONTENT*, SCM_DO_BUILD_DURING_DEPLOYMENT, ENABLE_ORYX_BUILD,
// FUNCTIONS_MAX_HTTP_CONCURRENCY, FUNCTIONS_WORKER_PROCESS_COUNT,
// WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT, alwaysOn, linuxFxVersion, ftpsState,
// use32BitWorkerProcess or vnetRouteAllEnabled is set here (docs/reference/azure.md §1, Flex "don't set
// these" list). FTP and basic-auth publishing are turned off through
// basicPublishingCredentialsPolicies instead of ftpsState.

@description('Name of the function app (also its OpenTelemetry service name).')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags applied to the plan and the site (the site adds azd-service-name).')
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Storage account for host storage and the deployment container.')
param storageAccountName string

@description('Blob endpoint of that account, ending with a slash.')
param blobEndpoint string

@description('Table endpoint of that account, read by the SCIM store.')
param tablesEndpoint string

@description('Queue endpoint of that account: the change feed (one queue per directory).')
param queuesEndpoint string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Key Vault URI, read by the SCIM secret store.')
param keyVaultUri string

@description('Application Insights component receiving OpenTelemetry data.')
param applicationInsightsName string

@description('Instance memory in MB: 512 (0.25 vCPU), 2048 (1 vCPU) or 4096 (2 vCPU).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Concurrent HTTP requests per instance before the platform scales out.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Instances of the HTTP group kept warm (billed while idle); 0 scales to zero.')
@minValue(0)
param alwaysReadyInstances int = 0

@description('Admit only the AzureActiveDirectory service tag (Entra provisioning) to the app.')
param allowEntraOnly bool = false

@description('Custom host name served by a TLS-terminating front end; empty uses the default host name.')
param customDomain string = ''

@description('Azure Front Door profile id (X-Azure-FDID) admitted from the AzureFrontDoor.Backend tag; empty adds no rule.')
param frontDoorId string = ''

@description('SCIM_CLIENT_ADDRESS_HEADER: the header holding the caller address; empty keeps X-Forwarded-For.')
param clientAddressHeader string = ''

@description('SCIM_LOG_PII: refusal details (which may quote a userName) in the logs.')
param logPii bool = false

// Python on Flex handles one request per instance unless perInstanceConcurrency is raised; the
// handlers are async, so one instance serves many Entra requests (docs/reference/azure.md §7).
var alwaysReady = (alwaysReadyInstances > 0) ? [
  {
    name: 'http'
    instanceCount: alwaysReadyInstances
  }
] : []

// Entra provisioning calls come from the AzureActiveDirectory service tag ranges
// (docs/reference/entra-wire.md §1.0); every other source gets 403 from the App Service front end.
var entraOnlyRules = [
  {
    name: 'AllowEntraProvisioning'
    description: 'Microsoft Entra provisioning service'
    action: 'Allow'
    tag: 'ServiceTag'
    ipAddress: 'AzureActiveDirectory'
    priority: 100
  }
]

// Behind Front Door, only this profile's requests may reach the app: the service tag alone admits every
// Front Door customer, the X-Azure-FDID header narrows it to ours (docs/security.md §4.2).
var frontDoorRules = [
  {
    name: 'AllowFrontDoor'
    description: 'Azure Front Door profile of this deployment'
    action: 'Allow'
    tag: 'ServiceTag'
    ipAddress: 'AzureFrontDoor.Backend'
    priority: 110
    headers: {
      'x-azure-fdid': [
        frontDoorId
      ]
    }
  }
]
var restrictionRules = concat(allowEntraOnly ? entraOnlyRules : [], empty(frontDoorId) ? [] : frontDoorRules)

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Zone redundancy on Flex needs at least two always-ready instances, a standing cost; Entra retries failed provisioning calls, so a zonal outage delays provisioning rather than losing it.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: Entra's provisioning service presents no client certificate; callers authenticate with bearer tokens.
  // checkov:skip=CKV_AZURE_78: ftpsState is on the Flex Consumption "don't set" list; FTP is off through basicPublishingCredentialsPolicies (ftp and scm allow=false) below.
  // checkov:skip=CKV_AZURE_222: The SCIM endpoint must be reachable by Entra's provisioning service over the internet; allowEntraOnly narrows it to the AzureActiveDirectory service tag, frontDoorId to one Front Door profile.
  // checkov:skip=CKV_AZURE_212: numberOfWorkers is not a Flex Consumption setting; instances scale per request within functionAppConfig.scaleAndConcurrency, with alwaysReadyInstances as the warm floor.
  // checkov:skip=CKV_AZURE_213: No platform health check: the app scales to zero by default, so there is often no instance to probe or replace; GET /health is probed by `scimctl doctor` instead.
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      remoteDebuggingEnabled: false
      cors: {
        allowedOrigins: []
      }
      ipSecurityRestrictions: restrictionRules
      ipSecurityRestrictionsDefaultAction: empty(restrictionRules) ? 'Allow' : 'Deny'
      // Deployments (azd deploy, func publish) go through the scm site with an Entra token, so
      // the Entra-only rule would block them if it applied there too.
      scmIpSecurityRestrictionsUseMain: false
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReady
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Flex Consumption does not support App Service managed certificates or other platform
// certificates (flex-consumption-plan.md, "Considerations"), so a custom domain is served by a
// TLS-terminating front end (Front Door, Application Gateway, API Management) that forwards to
// the default host name; the app only needs to know the public URL to render SCIM locations.
var publicBaseUrl = empty(customDomain) ? 'https://${site.properties.defaultHostName}' : 'https://${customDomain}'

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov reads every Microsoft.Web/sites/config as site configuration, but these properties are
  // app settings (environment variables); the site's own configuration is checked on `site`.
  // checkov:skip=CKV_AZURE_13: appsettings, not authsettings; App Service authentication stays off because Entra sends only a bearer token, which the app verifies itself.
  // checkov:skip=CKV_AZURE_63: appsettings, not site logs; requests are traced in Application Insights through OpenTelemetry.
  // checkov:skip=CKV_AZURE_65: appsettings, not site logs; failures are traced in Application Insights, and detailed error pages would expose internals.
  // checkov:skip=CKV_AZURE_66: appsettings, not site logs; failed requests are traced in Application Insights through OpenTelemetry.
  // checkov:skip=CKV_AZURE_80: appsettings, not site configuration; the app runs Python 3.11, not .NET.
  // checkov:skip=CKV_AZURE_88: appsettings, not storage mounts; Flex Consumption deploys from a blob container and mounts no Azure Files share.
  // checkov:skip=CKV_AZURE_222: appsettings, not site configuration; public network access is set on the site (see its skip).
  parent: site
  name: 'appsettings'
  properties: {
    // Identity-based host storage: no connection string, no account key.
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // OpenTelemetry mode (host.json telemetryMode): the worker exports directly, authenticating
    // with the identity because local auth is disabled (docs/reference/azure.md §3).
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: 'true'
    // The distro's default is a 5 traces/s rate limit; keep every trace so every failure is kept.
    OTEL_TRACES_SAMPLER: 'microsoft.fixed_percentage'
    OTEL_TRACES_SAMPLER_ARG: '1.0'
    OTEL_SERVICE_NAME: name
    // Settings scim/config.py reads.
    SCIM_STORE: 'tables'
    SCIM_TABLES_ENDPOINT: tablesEndpoint
    SCIM_QUEUES_ENDPOINT: queuesEndpoint
    SCIM_KEYVAULT_URL: keyVaultUri
    SCIM_PUBLIC_BASE_URL: publicBaseUrl
    SCIM_LOG_PII: logPii ? 'true' : 'false'
    SCIM_CLIENT_ADDRESS_HEADER: clientAddressHeader
    AZURE_CLIENT_ID: identityClientId
    AZURE_TOKEN_CREDENTIALS: 'managedidentitycredential'
  }
}

resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output publicBaseUrl string = publicBaseUrl
