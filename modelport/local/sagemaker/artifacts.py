"""Model artifacts and training data between the embedded S3 and local directories."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from model_containers.artifact import MANIFEST_NAME
from modelport.local.sagemaker.shapes import SageMakerError

#: a manifest larger than this is not a manifest (it is read into memory to learn the sizes)
MANIFEST_LIMIT = 4 << 20


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise SageMakerError("ValidationException", f"{uri!r} is not an s3:// URI")
    return parsed.netloc, parsed.path.lstrip("/")


class Artifacts:
    """Downloads `model.tar.gz` once per (URI, ETag) and unpacks it like SageMaker does.

    Unpacking writes at most `max_bytes`, and no file larger than `modelport.json`'s
    `sizes` says: a decompression bomb is refused before its member is written, and a
    refused archive leaves nothing behind.
    """

    def __init__(self, s3: Callable[[], Any], root: Path, *, max_bytes: int) -> None:
        self._s3 = s3
        self._root = root
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def model_dir(self, model_data_url: str) -> Path:
        """Directory holding the unpacked artifact (SageMaker's `/opt/ml/model`)."""
        bucket, key = split_s3_uri(model_data_url)
        try:
            head = self._s3().head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise SageMakerError(
                "ValidationException",
                f"Could not access model data at {model_data_url}: "
                f"{exc.response['Error'].get('Message') or exc.response['Error']['Code']}",
            ) from exc
        digest = hashlib.sha256(f"{model_data_url}|{head['ETag']}".encode()).hexdigest()[:24]
        target = self._root / digest
        with self._lock:
            if (target / ".complete").exists():
                return target / "model"
            self._root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=self._root, prefix=".unpack-"))
            try:
                archive = staging / "model.tar.gz"
                self._s3().download_file(bucket, key, str(archive))
                _unpack(archive, staging / "model", model_data_url, self._max_bytes)
                archive.unlink()
                (staging / ".complete").touch()
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target / "model"


def _unpack(archive: Path, into: Path, uri: str, max_bytes: int) -> None:
    into.mkdir(parents=True)
    budget = _Budget(uri, max_bytes, into)
    try:
        # Streamed, member by member: each header's size is checked before its data is
        # written (tarfile writes exactly that many bytes), so nothing unbounded reaches disk.
        with tarfile.open(archive, "r|*") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if member.isdir():
                    tar.extract(member, into, filter=_private_data)
                    continue
                if not member.isfile():
                    raise SageMakerError("ValidationException", f"Model data at {uri} holds {name!r}, "
                                         "which is not a regular file or directory")
                if name == MANIFEST_NAME:
                    data = _read_manifest(tar, member, uri)
                    budget.declare(_declared_sizes(data), member.size)
                    (into / MANIFEST_NAME).write_bytes(data)
                    continue
                budget.take(name, member.size)
                tar.extract(member, into, filter=_private_data)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SageMakerError(
            "ValidationException", f"Model data at {uri} is not a valid tar.gz archive: {exc}"
        ) from exc


def _private_data(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    """tarfile's "data" filter (it refuses absolute paths, `..` and anything out of the
    tree) with modes for the owner only: extraction sets them explicitly, past the umask."""
    member = tarfile.data_filter(member, path)
    return member if member.mode is None else member.replace(mode=member.mode & 0o700, deep=False)


class _Budget:
    """What unpacking may still write: `max_bytes` in all, and once the manifest is read,
    each file exactly the size it declares (files unpacked before it are checked then)."""

    def __init__(self, uri: str, max_bytes: int, into: Path) -> None:
        self._uri, self._max, self._into = uri, max_bytes, into
        self._total = 0
        self._declared: dict[str, int] | None = None
        self._written: dict[str, int] = {}

    def declare(self, sizes: dict[str, int] | None, manifest_size: int) -> None:
        self._add(manifest_size)
        if sizes is None:
            return  # an artifact packed before manifests carried sizes: max_bytes alone bounds it
        if sum(sizes.values()) + manifest_size > self._max:
            self._refuse(f"its {MANIFEST_NAME} declares {sum(sizes.values())} bytes")
        self._declared = sizes
        for name, size in self._written.items():
            self._check(name, size)

    def take(self, name: str, size: int) -> None:
        self._check(name, size)
        self._add(size)
        self._written[name] = size
        free = shutil.disk_usage(self._into).free
        if size > free:
            raise SageMakerError("ValidationException", f"Model data at {self._uri} needs {size} bytes for "
                                 f"{name!r}; the local SageMaker's disk has {free} free")

    def _check(self, name: str, size: int) -> None:
        if self._declared is None:
            return
        if name not in self._declared:
            raise SageMakerError("ValidationException", f"Model data at {self._uri} holds {name!r}, which its "
                                 f"{MANIFEST_NAME} does not list")
        if size != self._declared[name]:
            raise SageMakerError("ValidationException", f"Model data at {self._uri}: {name!r} is {size} bytes, "
                                 f"its {MANIFEST_NAME} says {self._declared[name]}")

    def _add(self, size: int) -> None:
        self._total += size
        if self._total > self._max:
            self._refuse(f"it holds at least {self._total} bytes")

    def _refuse(self, why: str) -> None:
        raise SageMakerError("ValidationException", f"Model data at {self._uri} unpacks to more than the "
                             f"local limit of {self._max} bytes (max_unpacked_model_bytes): {why}")


def _read_manifest(tar: tarfile.TarFile, member: tarfile.TarInfo, uri: str) -> bytes:
    if member.size > MANIFEST_LIMIT:
        raise SageMakerError("ValidationException", f"Model data at {uri}: {MANIFEST_NAME} is {member.size} "
                             f"bytes, more than {MANIFEST_LIMIT}")
    extracted = tar.extractfile(member)
    return extracted.read() if extracted else b""


def _declared_sizes(data: bytes) -> dict[str, int] | None:
    """The manifest's `sizes`, or None when it has none (the container judges the rest)."""
    try:
        sizes = json.loads(data).get("sizes")
    except (ValueError, AttributeError):
        return None
    if not isinstance(sizes, dict):
        return None
    return {str(k).removeprefix("./"): v for k, v in sizes.items()
            if isinstance(v, int) and not isinstance(v, bool) and v >= 0} if sizes else None


def download_prefix(s3: Any, uri: str, into: Path) -> int:
    """Every object under an `S3Prefix` URI into `into`, keeping paths below the prefix."""
    bucket, prefix = split_s3_uri(uri)
    base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    count = 0
    into.mkdir(parents=True, exist_ok=True)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith("/"):
                continue
            relative = Path(key[len(base):])
            if relative.is_absolute() or ".." in relative.parts:
                continue
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
            count += 1
    return count


def upload_model_dir(s3: Any, model_dir: Path, uri: str) -> None:
    """Tar `model_dir`'s contents (paths relative to it) and upload to `uri`."""
    bucket, key = split_s3_uri(uri)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(model_dir.rglob("*")):
                tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
        s3.upload_file(str(archive), bucket, key)
