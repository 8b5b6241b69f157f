"""Unpacking `model.tar.gz` in local mode is bounded (issue 10, lower finding "artifact extraction").

The local SageMaker unpacked whatever an archive held, so a small decompression bomb could
fill the disk. It now writes at most `max_unpacked_model_bytes`, holds each file to the size
its `modelport.json` declares (checked on the tar header, before the data is written), and a
refused archive leaves nothing behind.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from model_containers import artifact
from modelport.local.sagemaker.artifacts import Artifacts
from modelport.local.sagemaker.shapes import SageMakerError
from modelport.local.testing import MODELPORT_IMAGE, ROLE_ARN, wait_for

BOMB = 64 << 20  # zeros: about 64 KiB once compressed


def model_dir(root: Path, pad: int) -> Path:
    root.mkdir(parents=True)
    (root / "predictor.py").write_text("def load(d):\n    pass\n\n\ndef predict(b):\n    return [0 for _ in b]\n")
    with open(root / "pad.bin", "wb") as fh:
        fh.truncate(pad)
    return root


def lying(root: Path, said: int) -> Path:
    """A packed artifact whose manifest says pad.bin is `said` bytes (hashes are right)."""
    artifact.write_manifest(root, framework="python", model_file="predictor.py", signature={})
    manifest = json.loads((root / artifact.MANIFEST_NAME).read_text())
    manifest["sizes"]["pad.bin"] = said
    (root / artifact.MANIFEST_NAME).write_text(json.dumps(manifest))
    return artifact.pack(root, root.parent / "model.tar.gz").path


def tarball(path: Path, members: dict[str, int]) -> Path:
    """A tar.gz of zero-filled members (no manifest at all), streamed so memory stays small."""
    with gzip.open(path, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        for name, size in members.items():
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, _Zeros(size))
    return path


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


@pytest.fixture
def unpack(aws, bucket, tmp_path):
    root = tmp_path / "artifacts"

    def run(archive: Path, max_bytes: int = 1 << 30) -> Path:
        key = f"m/{archive.parent.name}/{archive.name}"
        aws("s3").upload_file(str(archive), bucket, key)
        return Artifacts(lambda: aws("s3"), root, max_bytes=max_bytes).model_dir(f"s3://{bucket}/{key}")

    run.root = root
    return run


def nothing_left(root: Path) -> None:
    assert not root.exists() or list(root.iterdir()) == [], list(root.rglob("*"))


def test_a_file_larger_than_its_manifest_says_is_refused_before_it_is_written(unpack, tmp_path):
    archive = lying(model_dir(tmp_path / "a" / "model", BOMB), said=16)
    with pytest.raises(SageMakerError) as refused:
        unpack(archive)
    assert "'pad.bin' is 67108864 bytes, its modelport.json says 16" in refused.value.message
    nothing_left(unpack.root)


def test_a_manifest_that_declares_more_than_the_limit_is_refused(unpack, tmp_path):
    archive = lying(model_dir(tmp_path / "b" / "model", 1024), said=1024)
    with pytest.raises(SageMakerError) as refused:
        unpack(archive, max_bytes=512)
    assert "more than the local limit of 512 bytes" in refused.value.message
    assert "declares" in refused.value.message
    nothing_left(unpack.root)


def test_an_archive_without_sizes_is_bounded_by_the_limit(unpack, tmp_path):
    (tmp_path / "c").mkdir()
    archive = tarball(tmp_path / "c" / "model.tar.gz", {"a.bin": 8 << 20, "b.bin": BOMB})
    with pytest.raises(SageMakerError) as refused:
        unpack(archive, max_bytes=16 << 20)
    assert "more than the local limit of 16777216 bytes" in refused.value.message
    nothing_left(unpack.root)


def test_an_honest_artifact_unpacks_and_members_must_be_listed(unpack, tmp_path):
    honest = lying(model_dir(tmp_path / "d" / "model", 4096), said=4096)
    unpacked = unpack(honest, max_bytes=1 << 20)
    assert (unpacked / "pad.bin").stat().st_size == 4096
    assert json.loads((unpacked / artifact.MANIFEST_NAME).read_text())["sizes"]["pad.bin"] == 4096
    extra = model_dir(tmp_path / "e" / "model", 8)
    artifact.write_manifest(extra, framework="python", model_file="predictor.py", signature={})
    (extra / "smuggled.bin").write_bytes(b"x" * 10)  # after the manifest: listed nowhere
    with pytest.raises(SageMakerError, match="holds 'smuggled.bin', which its modelport.json does not list"):
        unpack(artifact.pack(extra, extra.parent / "model.tar.gz").path)


def test_an_endpoint_whose_artifact_lies_fails_with_the_reason(aws, sm, bucket, endpoints, tmp_path, unique):
    archive = lying(model_dir(tmp_path / "f" / "model", 8 << 20), said=10)
    aws("s3").upload_file(str(archive), bucket, f"bomb-{unique}/model.tar.gz")
    sm.create_model(ModelName=f"bomb-{unique}", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={
        "Image": MODELPORT_IMAGE, "ModelDataUrl": f"s3://{bucket}/bomb-{unique}/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=f"bomb-{unique}", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"bomb-{unique}", "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1}])
    endpoints(f"bomb-{unique}", f"bomb-{unique}", wait=False)
    failed = wait_for(lambda: (d := sm.describe_endpoint(EndpointName=f"bomb-{unique}"))["EndpointStatus"] == "Failed"
                      and d, 60, what="the endpoint to fail")
    assert "'pad.bin' is 8388608 bytes, its modelport.json says 10" in failed["FailureReason"]
