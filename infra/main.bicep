// One-command deployment of the SCIM endpoint: `azd up`, or
// `az deployment sub create --location <region> --template-file infra/main.bicep --parameters environmentName=<env> location=<region>`.
// Every resource is declared in this folder as a plain resource (no registry modules) so the
// offline checks in tests/infra can read the security properties (docs/reference/azure.md §1, §6).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment; seeds the resource token and the resource group name.')
param environmentName string

@minLength(1)
@description('Azure region for every resource; it must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
// The Flex Consumption regions of the Azure-Samples Flex quickstart (functions-quickstart-python-http-azd), less its
// canary region; azd offers only these. Re-check with `az functionapp list-flexconsumption-locations` when adding one.
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user or pipeline, granted what the admin CLI (scimctl) needs; empty grants nothing.')
param principalId string = ''

@description('Principal type of principalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Resource group name; empty derives rg-<environmentName>.')
param resourceGroupName string = ''

@description('Instance memory in MB: 512 (0.25 vCPU), 2048 (1 vCPU) or 4096 (2 vCPU).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Flex Consumption's documented bounds: "the lowest maximum instance count value is 1, and the highest ... 1000"
// (event-driven-scaling.md, "Limit scale-out"; docs/reference/azure.md §7). The Flex samples' @minValue(40) is the preview limit.
@description('Upper bound of instances the app scales out to (1-1000).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Concurrent HTTP requests one instance takes before the platform adds another; the handlers are async.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Always-ready instances for the HTTP group (billed while idle); 0 lets the app scale to zero.')
@minValue(0)
param alwaysReadyInstances int = 0

@description('Admit only the AzureActiveDirectory service tag (Entra provisioning) to the app.')
param allowEntraOnly bool = false

@description('Public host name of a TLS-terminating front end for the app (no scheme); empty uses the default host name.')
param customDomain string = ''

@description('Admit only this Azure Front Door profile (its X-Azure-FDID) from the AzureFrontDoor.Backend service tag; empty admits no Front Door rule.')
param frontDoorId string = ''

@description('Header holding the caller address (SCIM_CLIENT_ADDRESS_HEADER, docs/security.md §4.2); empty keeps the last X-Forwarded-For hop. Behind Front Door: x-azure-socketip.')
param clientAddressHeader string = ''

@description('Put refusal details, which may quote a userName, into the logs (SCIM_LOG_PII; docs/runbook.md).')
param logPii bool = false

@description('Key Vault purge protection. Off lets `azd down --purge` free the vault name at once; on keeps a deleted vault (and its name) for 90 days.')
param keyVaultPurgeProtection bool = true

@description('Up to 6 letters or digits appended to the vault name, for a new vault after `azd down` while the old name is still reserved.')
@maxLength(6)
param keyVaultNameSuffix string = ''

// A fresh 256-bit-class random value on every deployment: two GUIDs without dashes, 64 hex
// characters. newGuid() is only allowed in a parameter default. Each deployment therefore adds a
// new version of the `scim-signing-key` secret; the app accepts every enabled version (kid =
// secret version), so a redeploy rotates the key and leaves older tokens valid until they expire.
// The value is passed only to the Key Vault module and appears in no output.
@secure()
// checkov:skip=CKV_AZURE_131: The default is not hardcoded: newGuid() yields a new random value on every deployment.
@description('Token signing key; leave unset so each deployment generates a new one.')
param signingKey string = '${replace(newGuid(), '-', '')}${replace(newGuid(), '-', '')}'

// utcNow() is likewise only allowed in a parameter default.
@description('Deployment time; the signing key version expires two years later.')
param deploymentTime string = utcNow()

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}scim-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'
var signingKeyExpiresOn = dateTimeToEpoch(dateTimeAdd(deploymentTime, 'P2Y'))

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? '${abbrs.resourcesResourceGroups}${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}scim-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module keyVault './app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}${toLower(keyVaultNameSuffix)}'
    location: location
    tags: tags
    purgeProtection: keyVaultPurgeProtection
    signingKeyValue: signingKey
    signingKeyExpiresOn: signingKeyExpiresOn
  }
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    principalId: principalId
    principalType: principalType
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    tablesEndpoint: storage.outputs.tableEndpoint
    queuesEndpoint: storage.outputs.queueEndpoint
    deploymentContainerName: deploymentContainerName
    keyVaultUri: keyVault.outputs.uri
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    alwaysReadyInstances: alwaysReadyInstances
    allowEntraOnly: allowEntraOnly
    customDomain: customDomain
    frontDoorId: frontDoorId
    clientAddressHeader: clientAddressHeader
    logPii: logPii
  }
  // The host starts as soon as the site exists; granting its roles first avoids a first start
  // that fails to reach storage.
  dependsOn: [
    rbac
  ]
}

// Values azd stores in the environment (`azd env get-values`). No output carries a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_KEYVAULT_URL string = keyVault.outputs.uri
output AZURE_TABLES_ENDPOINT string = storage.outputs.tableEndpoint
// The two URLs pasted into Entra (Tenant URL and Token Endpoint).
output SCIM_BASE_URL string = '${api.outputs.publicBaseUrl}/scim/v2'
output SCIM_TOKEN_URL string = '${api.outputs.publicBaseUrl}/oauth2/token'
// The settings scimctl reads, so `azd env get-values` configures it against this deployment.
output SCIM_STORE string = 'tables'
output SCIM_TABLES_ENDPOINT string = storage.outputs.tableEndpoint
output SCIM_QUEUES_ENDPOINT string = storage.outputs.queueEndpoint
output SCIM_KEYVAULT_URL string = keyVault.outputs.uri
output SCIM_PUBLIC_BASE_URL string = api.outputs.publicBaseUrl
