"""The order pytest-xdist hands out test files (`make test`: `--dist loadfile` gives each
worker whole files, in collection order). The files with the most `slow` tests go first, then
the files with the most tests, so the long ones run while the short ones fill the other
workers, instead of one long file ending the run on one worker while the others wait. A
file's tests keep their order.

xdist would sort the files by their number of tests itself (its `--loadscope-reorder`, on by
default), which put the 98 quick webhook-shape tests before every end-to-end file: that
sorting is turned off here, so this order is the one used."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist is installed
        config.option.loadscopereorder = False


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # one process: pytest-django's order (database tests first) stands
    slow: Counter[Path] = Counter(item.path for item in items if item.get_closest_marker("slow"))
    size: Counter[Path] = Counter(item.path for item in items)
    first: dict[Path, int] = {}
    for index, item in enumerate(items):
        first.setdefault(item.path, index)
    items.sort(key=lambda item: (-slow[item.path], -size[item.path], first[item.path]))
