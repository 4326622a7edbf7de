"""The live contract run (live_contract.py) over the resources group of operations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .live_contract import run_group


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_resources_operation_answers_per_its_schema_on_a_live_server(
    live_server: Any, seeded: str, tmp_path: Path
) -> None:
    run_group("resources", live_server, seeded, tmp_path)
