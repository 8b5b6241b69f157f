"""Which code produced a training output: recorded in its ``modelport.json`` as ``code``.

The training process knows what it ran: the reference trainer (this package, at the
installed Modelport version) or the user's entry point in the ``code`` channel. It hashes
those files (SHA-256 over each file's relative path and SHA-256, sorted) and writes
``{"trainer", "version", "sha256"}`` into the manifest after training, so the retrain
workflow can put it in the new version's lineage (``code_revision``). Standard library only.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from model_containers.artifact import MANIFEST_NAME, sha256_file

_PACKAGE = Path(__file__).resolve().parent


def tree_digest(root: Path, files: list[Path]) -> str:
    lines = sorted(f"{p.relative_to(root).as_posix()} {sha256_file(p)}" for p in files if p.is_file())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _version() -> str | None:
    try:
        return metadata.version("modelport")
    except metadata.PackageNotFoundError:
        return None


def code_identity(entry: Path | None, code_channel: Path | None) -> dict[str, Any]:
    """The reference trainer's identity (entry None), or the user's code channel's."""
    if entry is None:
        files = sorted(_PACKAGE.rglob("*.py"))
        return {"trainer": "modelport-tabular", "version": _version(), "sha256": tree_digest(_PACKAGE, files)}
    root = (code_channel or entry.parent).resolve()
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {"trainer": f"custom:{entry.resolve().relative_to(root).as_posix()}", "version": None,
            "sha256": tree_digest(root, files)}


def record_code(model_dir: Path, identity: dict[str, Any]) -> bool:
    """Add ``code`` to the output's manifest (the file list is unchanged: the manifest does
    not list itself). False when there is no manifest to add it to."""
    path = model_dir / MANIFEST_NAME
    if not path.is_file():
        return False
    manifest = json.loads(path.read_text())
    if not isinstance(manifest, dict):
        return False
    manifest["code"] = identity
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return True
