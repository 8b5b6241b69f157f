"""Model artifacts: hash, describe (``modelport.json``), pack and verify.

Pure standard library on purpose, so that the CLI (``modelport push``), the retrain
workflow and the containers share one implementation without pulling in numpy or pydantic.

An artifact directory holds the model files plus ``modelport.json``; its tarball
``model.tar.gz`` has the same files at its root, which is what SageMaker's ``ModelDataUrl``
unpacks into ``/opt/ml/model``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_NAME = "modelport.json"
FORMAT_VERSION = 1
FRAMEWORKS = ("sklearn", "xgboost", "onnx", "torchscript", "python")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PackedArtifact:
    """A packed ``model.tar.gz``: where it is, its SHA-256 (hex) and its size in bytes."""

    path: Path
    sha256: str
    size: int


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of one file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_files(model_dir: str | os.PathLike[str]) -> list[str]:
    """Relative POSIX paths of every regular file under ``model_dir`` except the manifest.

    Symbolic links are refused: a link could point outside the artifact, and its hash
    would then describe a file that is not shipped.
    """
    root = Path(model_dir)
    found: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            raise ValueError(f"artifact contains a symbolic link: {rel}")
        if path.is_file() and rel != MANIFEST_NAME:
            found.append(rel)
    return found


def hash_tree(model_dir: str | os.PathLike[str]) -> dict[str, str]:
    """``{relpath: sha256}`` for every file of the artifact (the manifest's ``files``)."""
    root = Path(model_dir)
    return {rel: sha256_file(root / rel) for rel in list_files(root)}


def write_manifest(
    model_dir: str | os.PathLike[str],
    *,
    framework: str,
    model_file: str,
    signature: Mapping[str, Any],
    allow_pickle: bool = False,
    metrics: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Hash every file in ``model_dir`` and write ``modelport.json``; returns the manifest.

    Call it last, after every model file (and ``metrics.json``) is in place: files written
    afterwards are not listed and the container will refuse the artifact.
    """
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {', '.join(FRAMEWORKS)}")
    root = Path(model_dir)
    if not (root / model_file).is_file():
        raise ValueError(f"model_file {model_file!r} is not a file in the artifact")
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "framework": framework,
        "model_file": model_file,
        "signature": {"inputs": list(signature.get("inputs", [])),
                      "outputs": list(signature.get("outputs", []))},
        "allow_pickle": bool(allow_pickle),
        "files": hash_tree(root),
        # bytes of each file: what unpacking the artifact may write (a bound against a
        # decompression bomb, checked against each tar member's header before it is written)
        "sizes": {rel: (root / rel).stat().st_size for rel in list_files(root)},
        "metrics": dict(metrics or {}),
    }
    for key, value in (extra or {}).items():
        manifest.setdefault(key, value)
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return manifest


def read_manifest(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``modelport.json`` of an artifact directory (no validation beyond JSON)."""
    path = Path(model_dir) / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{MANIFEST_NAME} is missing from the artifact")
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{MANIFEST_NAME} must hold a JSON object")  # noqa: TRY004 - one error type for callers
    return data


def verify_tree(model_dir: str | os.PathLike[str], files: Mapping[str, str]) -> list[str]:
    """Problems found comparing the directory with the manifest's ``files``; empty when intact.

    Each problem names one file: a hash mismatch, a listed file that is missing, or a file
    present but not listed (an unlisted file could be loaded without being checked).
    """
    root = Path(model_dir)
    problems: list[str] = []
    present = set(list_files(root))
    for rel, expected in sorted(files.items()):
        if rel not in present:
            problems.append(f"{rel}: listed in {MANIFEST_NAME} but missing")
        elif sha256_file(root / rel) != str(expected).lower():
            problems.append(f"{rel}: SHA-256 mismatch")
    for rel in sorted(present - set(files)):
        problems.append(f"{rel}: present but not listed in {MANIFEST_NAME}")
    return problems


def pack(model_dir: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> PackedArtifact:
    """Pack an artifact directory into a reproducible ``model.tar.gz``.

    Files sit at the archive's root, sorted, with zeroed owners and times, so the same
    directory always gives the same bytes and so the same SHA-256.
    """
    root = Path(model_dir)
    if not (root / MANIFEST_NAME).is_file():
        raise ValueError(f"{MANIFEST_NAME} is missing: call write_manifest first")
    out = Path(out_path)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in [MANIFEST_NAME, *list_files(root)]:
            info = tarfile.TarInfo(rel)
            data = (root / rel).read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    with open(out, "wb") as fh, gzip.GzipFile(filename="", fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return PackedArtifact(path=out, sha256=sha256_file(out), size=out.stat().st_size)


def unpack(tar_path: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Extract a ``model.tar.gz`` into ``dest`` refusing links, devices and paths outside it."""
    target = Path(dest)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path, "r:gz") as tar:
        for member in tar.getmembers():
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"archive member {member.name!r} is not a regular file")
            if member.name.startswith("/") or ".." in Path(member.name).parts:
                raise ValueError(f"archive member {member.name!r} points outside the artifact")
        tar.extractall(target, filter="data")
    return target
