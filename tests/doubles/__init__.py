"""Local stand-ins for Azure services that have no emulator; they speak the real REST APIs to the real SDKs."""
