"""The ingest benchmark's earlier collector comes from this clone's history, or is reported
missing (a shallow clone) instead of failing the benchmark."""

from pathlib import Path

import pytest

from bench._previous_collector import PREVIOUS_COLLECTOR, checkout


def test_a_commit_this_clone_lacks_gives_no_tree(tmp_path: Path) -> None:
    assert checkout("0" * 40, tmp_path / "tree") is None
    assert not (tmp_path / "tree").exists()


def test_the_earlier_collector_is_its_own_tree(tmp_path: Path) -> None:
    tree = checkout(PREVIOUS_COLLECTOR, tmp_path / "tree")
    if tree is None:
        pytest.skip("a shallow clone: the benchmark reports the earlier collector missing")
    # before the one-house layout the collector was a top-level package
    assert (tree / "collector" / "mqttwire.py").is_file()
    assert not (tree / "aedfleet" / "collector").exists()
