"""A closed run claims a ROS domain of its own, so that two benchmarks never share nodes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gqstn_ros import node_graph
from gqstn_ros.node_graph import PRIVATE_DOMAIN_IDS, SIM_DOMAIN_ID, claim_private_domain

# The holder skips the domains the test process already holds (in another lock folder, for
# its own nodes), as a third process holding them in the same folder would make it.
HOLD_A_CLAIM = """
import sys
from pathlib import Path
from gqstn_ros import node_graph
node_graph._claimed_domains.update({int(domain): -1 for domain in sys.argv[2:]})
print(node_graph.claim_private_domain(Path(sys.argv[1])), flush=True)
sys.stdin.read()
"""


@pytest.fixture(autouse=True)
def release_claims() -> Iterator[None]:
    """Claims made by a test are released after it (a process's claims last until it exits)."""
    before = dict(node_graph._claimed_domains)
    yield
    for domain in set(node_graph._claimed_domains) - set(before):
        os.close(node_graph._claimed_domains.pop(domain))


def test_each_claim_is_a_distinct_private_domain(tmp_path: Path) -> None:
    first = claim_private_domain(tmp_path)
    second = claim_private_domain(tmp_path)
    assert first != second
    for domain in (first, second):
        assert domain in PRIVATE_DOMAIN_IDS
        assert domain != SIM_DOMAIN_ID
        assert (tmp_path / f"gqstn_ros_domain_{domain}.lock").exists()


def test_a_domain_claimed_by_another_process_is_skipped_until_it_exits(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD_A_CLAIM,
            str(tmp_path),
            *map(str, node_graph._claimed_domains),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        held = int(holder.stdout.readline())
        claimed_here = []
        with pytest.raises(RuntimeError, match="every private ROS domain"):
            while True:
                claimed_here.append(claim_private_domain(tmp_path))
        assert held not in claimed_here
        already_claimed_here = set(node_graph._claimed_domains) - set(claimed_here)
        assert sorted([*claimed_here, held, *already_claimed_here]) == list(PRIVATE_DOMAIN_IDS)
    finally:
        holder.communicate("", timeout=60)
    assert claim_private_domain(tmp_path) == held


def test_a_lock_file_that_cannot_be_opened_counts_as_claimed(tmp_path: Path) -> None:
    # A folder in a lock file's place cannot be opened for writing, as another user's file.
    free = PRIVATE_DOMAIN_IDS[-1]
    for domain in PRIVATE_DOMAIN_IDS[:-1]:
        (tmp_path / f"gqstn_ros_domain_{domain}.lock").mkdir()
    if free in node_graph._claimed_domains:
        pytest.skip("this test process already holds the last private domain")
    assert claim_private_domain(tmp_path) == free
