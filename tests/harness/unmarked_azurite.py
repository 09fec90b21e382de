"""Run only by test_orphans.py: a test that starts Azurite without the azurite marker (the guard must fail it)."""

from scim.dev.azurite import Azurite


def test_starts_azurite_unmarked() -> None:
    with Azurite():
        pass
