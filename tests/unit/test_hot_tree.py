"""The hot-reload trees make dev runs functions from (stacks.layout.hot_tree)."""

from __future__ import annotations

from agora.operations import load_service
from stacks.layout import FUNCTIONS_DIR, hot_tree


def test_a_tree_links_the_service_and_the_shared_library(tmp_path):
    tree = hot_tree(load_service("orders"), tmp_path)
    assert (tree / "orders" / "operations.py").resolve() == FUNCTIONS_DIR / "orders" / "operations.py"
    assert (tree / "agora" / "operations.py").is_file()


def test_a_swap_that_died_halfway_does_not_block_the_next_one(tmp_path):
    service = load_service("orders")
    hot_tree(service, tmp_path)
    # Died after moving the old tree aside and before removing it: the next swap must go through.
    (tmp_path / ".retired-orders" / "stale").mkdir(parents=True)
    tree = hot_tree(service, tmp_path, copy=True)
    assert not (tree / "orders").is_symlink() and (tree / "orders" / "operations.py").is_file()
    assert not (tmp_path / ".retired-orders").exists()
