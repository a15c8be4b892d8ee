"""The secrets `make run` needs, generated once and kept in `.data/secrets.json` (mode 0600) so a
Vapi credential or a grpcurl command set up yesterday still works today. A variable set in the
environment always wins over the stored value."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from devkit.processes import ROOT

SECRETS_FILE = ROOT / ".data" / "secrets.json"
GENERATORS: dict[str, Callable[[], str]] = {
    "INTERNAL_API_TOKEN": lambda: secrets.token_urlsafe(32),
    "SECRET_ENCRYPTION_KEY": lambda: secrets.token_urlsafe(32),
    "DEMO_TENANT_SECRET": lambda: secrets.token_urlsafe(24),
    "CONSOLE_SESSION_KEY": lambda: secrets.token_urlsafe(32),
}


def use_throwaway_secrets(env: dict[str, str] | os._Environ[str]) -> None:
    """Tests and benchmarks: fresh service token and key-encryption key unless already set
    (every process they start inherits them)."""
    for name in ("INTERNAL_API_TOKEN", "SECRET_ENCRYPTION_KEY", "CONSOLE_SESSION_KEY"):
        env.setdefault(name, f"throwaway-{name.lower()}-{secrets.token_hex(16)}")


def local_secrets(env: Mapping[str, str], path: Path = SECRETS_FILE) -> dict[str, str]:
    """Each secret from the environment, else the stored one, else a new one (then stored)."""
    try:
        stored: dict[str, str] = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = {}
    changed = False
    for name, generate in GENERATORS.items():
        if not isinstance(stored.get(name), str) or not stored[name]:
            stored[name] = generate()
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(stored, file, indent=2)
    return {name: env.get(name) or stored[name] for name in GENERATORS}
