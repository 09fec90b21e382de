// Key Vault for the token signing key and the OAuth client secrets the admin CLI creates.
// RBAC authorisation only (no access policies); soft delete and purge protection keep a deleted
// key recoverable, which also means a deleted vault's name stays reserved for the retention
// period (docs/deploy.md, "Tearing down").

@description('Name of the vault (3-24 characters).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags object

// Each deployment passes a fresh random value (main.bicep derives it from newGuid()), so every
// deployment adds a new version of the secret. The app accepts every enabled version and puts
// the secret version in the token's `kid`, so a redeploy is a key rotation: new tokens are
// signed with the new version while tokens signed with an older version stay valid until they
// expire. Disable an old version to revoke the tokens it signed.
@secure()
@description('Token signing key (HS256). Never echoed in outputs or logs.')
param signingKeyValue string

@description('Expiry of this signing key version, in seconds since the Unix epoch.')
param signingKeyExpiresOn int

// Purge protection cannot be turned off once on, and Key Vault rejects `false` for it: off means leaving it unset.
@description('Purge protection: a deleted vault stays (and keeps its name) for the retention period.')
param purgeProtection bool = true

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: A vault firewall with default Deny needs the Flex app VNet-integrated with a private endpoint, which this template leaves out to keep one-command deployment; access is RBAC-only and scoped to this vault.
  // checkov:skip=CKV_AZURE_110: Purge protection is on unless the deployer sets keyVaultPurgeProtection=false (azd SCIM_KEYVAULT_PURGE_PROTECTION), an opt-out for throwaway environments whose vault name must be free again after azd down; checkov cannot evaluate the parameter.
  // checkov:skip=CKV_AZURE_42: The vault is recoverable (soft delete always on, purge protection on by default); only the keyVaultPurgeProtection=false opt-out for throwaway environments leaves purge protection unset.
  // checkov:skip=CKV_AZURE_189: Same reason as CKV_AZURE_109: the app reaches the vault over its public endpoint without VNet integration; every call needs an Entra token and a role on this vault.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: purgeProtection ? true : null
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource signingKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'scim-signing-key'
  properties: {
    value: signingKeyValue
    contentType: 'text/plain; scim token signing key (HS256), hex'
    attributes: {
      enabled: true
      exp: signingKeyExpiresOn
    }
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
