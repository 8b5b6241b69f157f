"""The local admin key: created on first start, kept in `<state>/admin.key` (0600)."""

from __future__ import annotations

import os
from pathlib import Path

KEY_FILE = "admin.key"


def ensure_admin_key(state_dir: Path, owner: str) -> tuple[str, bool]:
    """(token, created): the kept key when the restored state still knows it, else a new one."""
    from functions.adapters import wiring
    from functions.core import apikeys
    from functions.core.errors import Unauthenticated

    deps = wiring.deps()
    path = state_dir / KEY_FILE
    if path.is_file():
        token = path.read_text().strip()
        try:
            apikeys.authenticate(deps, f"Bearer {token}")
            return token, False
        except Unauthenticated:
            pass  # the state was reset (or the key revoked): make a new one
    created = apikeys.bootstrap_admin_key(deps, owner, request_id="local-up")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(created.token + "\n")
    os.chmod(path, 0o600)
    return created.token, True
