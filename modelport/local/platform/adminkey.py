"""The local admin key: created on first start, kept in `<state>/admin.key` (0600).

When the kept key no longer authenticates (revoked, expired, or lost with a state that was
reset), `local up` issues a new one through the audited recovery use case: whoever owns
the state directory owns this installation, so local mode never stays locked out.
"""

from __future__ import annotations

import os
from pathlib import Path

from modelport.local.statefiles import write_bytes_atomic

KEY_FILE = "admin.key"


def ensure_admin_key(state_dir: Path, owner: str) -> tuple[str, bool]:
    """(token, created): the kept key when the restored state still knows it, else a new one."""
    from functions.adapters import wiring
    from functions.core import apikeys
    from functions.core.errors import BootstrapRefused, Unauthenticated

    deps = wiring.deps()
    path = state_dir / KEY_FILE
    why = f"{path} did not exist"
    if path.is_file():
        token = path.read_text().strip()
        try:
            apikeys.authenticate(deps, f"Bearer {token}")
            return token, False
        except Unauthenticated as refused:
            why = f"{path} did not authenticate ({refused.message})"
    try:
        created = apikeys.bootstrap_first_admin_key(deps, owner, request_id="local-up")
    except BootstrapRefused:  # the installation has keys: recover, audited with the reason
        created = apikeys.recover_admin_key(
            deps, owner, reason=f"modelport local up: {why}", only_when_locked_out=False,
            request_id="local-up",
        )
    # atomic (a crash leaves the old file or the new one) and 0600 (mkstemp's mode)
    write_bytes_atomic(path, (created.token + "\n").encode())
    os.chmod(path, 0o600)
    return created.token, True
