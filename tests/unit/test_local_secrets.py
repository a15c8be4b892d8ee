"""`make run`'s secrets: generated once, kept (0600) and reused; the environment wins."""

from __future__ import annotations

import stat
from pathlib import Path

from devkit.local_secrets import GENERATORS, local_secrets


def test_generated_once_then_reused_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / ".data" / "secrets.json"
    first = local_secrets({}, path)
    assert set(first) == set(GENERATORS) and all(len(v) >= 32 for v in first.values())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secrets({}, path) == first  # a restart keeps yesterday's secrets
    chosen = local_secrets({"DEMO_TENANT_SECRET": "mine-mine-mine-mine"}, path)
    assert chosen["DEMO_TENANT_SECRET"] == "mine-mine-mine-mine"
    assert chosen["INTERNAL_API_TOKEN"] == first["INTERNAL_API_TOKEN"]
    assert local_secrets({}, path)["DEMO_TENANT_SECRET"] == first["DEMO_TENANT_SECRET"]  # not overwritten


def test_an_unreadable_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{not json")
    assert set(local_secrets({}, path)) == set(GENERATORS)
