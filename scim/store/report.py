"""What `scimctl check` found in one directory: filled by the memory and the Table Storage checkers alike."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class CheckReport:
    """Counts and plain-word issues for one directory; ``repaired`` counts the fixes applied."""

    directory: str
    users: int = 0
    groups: int = 0
    memberships: int = 0
    issues: list[str] = field(default_factory=list)
    repaired: int = 0
    # Not an inconsistency (a manager that names no user is stored as sent), so --repair leaves them alone.
    dangling_managers: list[str] = field(default_factory=list)
    # Values SCIM never writes (an import once skipped SCIM's rules): rendered without them; a write replaces them.
    malformed: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.issues and not self.malformed
