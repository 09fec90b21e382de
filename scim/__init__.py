"""SCIM 2.0 provisioning endpoint for Microsoft Entra ID on Azure Functions."""

__version__ = "0.1.0"
