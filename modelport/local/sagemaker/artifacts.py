"""Model artifacts and training data between the embedded S3 and local directories."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from modelport.local.sagemaker.shapes import SageMakerError


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise SageMakerError("ValidationException", f"{uri!r} is not an s3:// URI")
    return parsed.netloc, parsed.path.lstrip("/")


class Artifacts:
    """Downloads `model.tar.gz` once per (URI, ETag) and unpacks it like SageMaker does."""

    def __init__(self, s3: Callable[[], Any], root: Path) -> None:
        self._s3 = s3
        self._root = root
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
                _unpack(archive, staging / "model", model_data_url)
                archive.unlink()
                (staging / ".complete").touch()
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target / "model"


def _unpack(archive: Path, into: Path, uri: str) -> None:
    into.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            # The "data" filter refuses absolute paths, `..`, links out of the tree and devices.
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SageMakerError(
            "ValidationException", f"Model data at {uri} is not a valid tar.gz archive: {exc}"
        ) from exc


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
