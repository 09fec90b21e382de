// Storage for the Functions host (AzureWebJobsStorage), the Flex deployment package container and
// the SCIM data tables. Shared-key access is off: every caller, host included, authenticates
// with Entra ID, so no account key or key-bearing connection string exists anywhere.
// Child resources are top-level with `parent:` because pycep-parser keeps only one nested child
// chain per resource, and the offline checks (tests/infra, checkov) read this file through it.

@description('Name of the storage account (3-24 lowercase letters and digits).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Blob container the Flex Consumption plan deploys the app package into.')
param deploymentContainerName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: Without VNet integration and private endpoints (left out to keep one-command deployment) the Flex host reaches storage over the public endpoint; shared-key access is off, so only RBAC-authorised Entra identities get in.
  // checkov:skip=CKV_AZURE_59: Same reason as CKV_AZURE_35: public network access is needed without VNet integration; shared-key access is off, so only RBAC-authorised Entra identities get in.
  // checkov:skip=CKV_AZURE_206: LRS keeps the template deployable in every Flex Consumption region; users, groups and memberships are re-sent by Entra's next provisioning cycle.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    publicNetworkAccess: 'Enabled'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// The SCIM store's tables (scim/store/tables.py): resources and their uniqueness index rows,
// one entity per group membership, admin data (clients, catalog, policies) and the signed change events' log.
resource dataTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in ['scimresources', 'scimadmin', 'scimsets']: {
    parent: tableService
    name: tableName
  }
]

// The change feed (scim/events/): one queue per directory, `scim-changes-<directory>`. Directories are
// created at run time by scimctl, so the app creates each queue on first use with its own identity
// (Storage Queue Data Contributor, rbac.bicep); there is no key to hand out.
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output tableEndpoint string = storage.properties.primaryEndpoints.table
output queueEndpoint string = storage.properties.primaryEndpoints.queue
