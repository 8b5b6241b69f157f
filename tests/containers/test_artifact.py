"""model_containers.artifact: manifests, reproducible tarballs, safe unpacking."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from model_containers import artifact


def make_dir(path):
    (path / "sub").mkdir(parents=True)
    (path / "model.bin").write_bytes(b"\x00weights")
    (path / "sub" / "vocab.txt").write_text("a\nb\n")
    return path


def test_write_manifest_hashes_every_file(tmp_path):
    model_dir = make_dir(tmp_path / "m")
    manifest = artifact.write_manifest(model_dir, framework="python", model_file="model.bin",
                                       signature={"inputs": []}, metrics={"auc": 0.9})
    assert manifest["files"] == {"model.bin": artifact.sha256_file(model_dir / "model.bin"),
                                 "sub/vocab.txt": artifact.sha256_file(model_dir / "sub" / "vocab.txt")}
    assert json.loads((model_dir / "modelport.json").read_text()) == manifest
    assert manifest["format_version"] == 1 and manifest["allow_pickle"] is False


@pytest.mark.parametrize("kwargs,message", [
    ({"framework": "tensorflow", "model_file": "model.bin"}, "framework must be one of"),
    ({"framework": "python", "model_file": "absent.bin"}, "is not a file"),
])
def test_write_manifest_rejects(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        artifact.write_manifest(make_dir(tmp_path / "m"), signature={}, **kwargs)


def test_pack_is_reproducible_and_unpacks(tmp_path):
    model_dir = make_dir(tmp_path / "m")
    artifact.write_manifest(model_dir, framework="python", model_file="model.bin", signature={})
    first = artifact.pack(model_dir, tmp_path / "a.tar.gz")
    second = artifact.pack(model_dir, tmp_path / "b.tar.gz")
    assert first.sha256 == second.sha256 == artifact.sha256_file(tmp_path / "a.tar.gz")
    assert first.size == (tmp_path / "a.tar.gz").stat().st_size
    with tarfile.open(first.path) as tar:
        assert tar.getnames() == ["modelport.json", "model.bin", "sub/vocab.txt"]
    out = artifact.unpack(first.path, tmp_path / "out")
    manifest = artifact.read_manifest(out)
    assert artifact.verify_tree(out, manifest["files"]) == []


def test_pack_requires_manifest_and_refuses_links(tmp_path):
    model_dir = make_dir(tmp_path / "m")
    with pytest.raises(ValueError, match="modelport.json is missing"):
        artifact.pack(model_dir, tmp_path / "x.tar.gz")
    (model_dir / "link").symlink_to("/etc/hostname")
    with pytest.raises(ValueError, match="symbolic link: link"):
        artifact.hash_tree(model_dir)


@pytest.mark.parametrize("member", ["../escape.txt", "/abs.txt"])
def test_unpack_refuses_paths_outside(tmp_path, member):
    tar_path = tmp_path / "evil.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ValueError, match="outside the artifact"):
        artifact.unpack(tar_path, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_unpack_refuses_links(tmp_path):
    tar_path = tmp_path / "link.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        info = tarfile.TarInfo("model.bin")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(ValueError, match="not a regular file"):
        artifact.unpack(tar_path, tmp_path / "out")
