"""`make test` shares one applied stack per engine by keeping each xdist_group on one worker
(`--dist loadgroup`). pytest-xdist 3.8 does that by appending "@<group>" to each item's
`_nodeid`; pytest 9.2 reads a node's id from `_id` instead, so the suffix was silently lost and
every worker applied its own copy of every stack (toolchain/requirements.txt pins pytest 9.1.1).
This runs a small grouped session the way the Makefile does and checks where each test ran.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GROUPED_TESTS = """
import pytest

pytestmark = pytest.mark.xdist_group("shared-stack")


@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    pass
"""
UNGROUPED_TESTS = """
import pytest


@pytest.mark.parametrize("n", range(20))
def test_free(n):
    pass
"""


def test_one_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED_TESTS)
    (tmp_path / "test_free.py").write_text(UNGROUPED_TESTS)
    answer = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup", "-v"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert answer.returncode == 0, answer.stdout[-2000:] + answer.stderr[-2000:]
    workers = set(
        re.findall(
            r"\[(gw\d+)\][^\n]* PASSED test_grouped\.py::test_grouped\[\d\]@shared-stack", answer.stdout
        )
    )
    ran = re.findall(r"PASSED test_grouped\.py::test_grouped\[\d\]", answer.stdout)
    assert len(ran) == 6, answer.stdout[-2000:]
    assert len(workers) == 1, (
        f"the group ran on {sorted(workers)} (or lost its @group suffix):\n{answer.stdout[-2000:]}"
    )
