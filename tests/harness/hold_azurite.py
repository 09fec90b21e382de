"""Run only by test_orphans.py: a test that takes the session's Azurite, reports its port, and waits to be killed."""

import os
import time
from pathlib import Path

import pytest

from scim.dev.azurite import Azurite


@pytest.mark.azurite
def test_hold_azurite(azurite: Azurite) -> None:
    Path(os.environ["SCIM_TEST_REPORT"]).write_text(str(azurite.port))
    time.sleep(300)
