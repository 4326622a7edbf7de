"""The order pytest-xdist hands out test files (`make test`: `--dist loadfile` gives each
worker whole files, in collection order). The files with the most `slow` tests go first, so
the long ones run while the short ones fill the other cores, instead of one long file
ending the run on one core while the others wait. A file's tests keep their order."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # one process: pytest-django's order (database tests first) stands
    slow: Counter[Path] = Counter(item.path for item in items if item.get_closest_marker("slow"))
    first: dict[Path, int] = {}
    for index, item in enumerate(items):
        first.setdefault(item.path, index)
    items.sort(key=lambda item: (-slow[item.path], first[item.path]))
