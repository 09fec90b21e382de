// The one user-assigned identity the function app uses for everything: host storage, the
// data tables, Key Vault and Application Insights. A user-assigned identity (rather than a
// system-assigned one) exists before the site, so role assignments can be granted first.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
