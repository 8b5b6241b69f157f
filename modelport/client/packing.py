"""`push`'s first half: turn a model directory or file into `model.tar.gz` + `modelport.json`.

Accepted inputs:

* a directory holding `modelport.json` (e.g. a training output): its manifest is rewritten
  with fresh file hashes (framework, model file, signature and metrics kept);
* a directory without one: framework and model file are given or guessed from the one
  file with a known suffix; `metrics.json`, when present, becomes the manifest's metrics;
* a single model file: copied into a fresh directory and described the same way;
* a ready `model.tar.gz`: used as it is (its `modelport.json` is read, not changed).

The packing itself is `model_containers.artifact`, shared with the containers and the
retrain workflow, so what `push` hashes is exactly what the container verifies.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_containers import artifact
from modelport.client.errors import ConfigurationError

#: the artifact's baseline profile (model_containers.monitoring.baseline.BASELINE_FILE).
BASELINE_FILE = "baseline.json"
#: model file suffix → framework (the safe formats of DESIGN §4, plus `python` predictors).
FRAMEWORK_BY_SUFFIX = {
    ".skops": "sklearn",
    ".onnx": "onnx",
    ".ubj": "xgboost",
    ".pt": "torchscript",
    ".pth": "torchscript",
    ".torchscript": "torchscript",
    ".py": "python",
}


@dataclass(frozen=True)
class PackedModel:
    """The tarball to upload and what its manifest says."""

    path: Path
    sha256: str
    size: int
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def framework(self) -> str | None:
        return self.manifest.get("framework")

    @property
    def metrics(self) -> dict[str, float]:
        raw = self.manifest.get("metrics") or {}
        return {k: float(v) for k, v in raw.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}

    @property
    def signature(self) -> dict[str, Any]:
        return self.manifest.get("signature") or {"inputs": [], "outputs": []}

    @property
    def baseline_sha256(self) -> str | None:
        """SHA-256 of the artifact's `baseline.json`, if it has one (for the lineage)."""
        return (self.manifest.get("files") or {}).get(BASELINE_FILE)


def existing_signature(source: Path) -> dict[str, Any]:
    """The signature of a model directory's `modelport.json` ({} when it has none)."""
    path = Path(source) / artifact.MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text()).get("signature") or {}
    except (ValueError, AttributeError):
        return {}


def pack_model(
    source: Path, work_dir: Path, *, framework: str | None = None, model_file: str | None = None,
    baseline: Mapping[str, Any] | None = None,
) -> PackedModel:
    """Pack `source` into `work_dir/model.tar.gz` (see the module docstring for inputs);
    `baseline` (a profile) is written as the artifact's `baseline.json` first."""
    source = Path(source)
    if not source.exists():
        raise ConfigurationError(f"{source} does not exist")
    if source.is_file() and source.name.endswith((".tar.gz", ".tgz")):
        if baseline is not None:
            raise ConfigurationError(f"{source} is packed already: give the model directory or file to add a baseline")
        return PackedModel(source, artifact.sha256_file(source), source.stat().st_size, _tar_manifest(source))
    if source.is_file():
        model_dir = work_dir / "model"
        model_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, model_dir / source.name)
        model_file = model_file or source.name
    elif source.is_dir():
        model_dir = source
    else:
        raise ConfigurationError(f"{source} is neither a file nor a directory")
    if baseline is not None:
        from model_containers.monitoring import baseline as profiles

        profiles.write(model_dir, baseline)
    try:
        manifest = _describe(model_dir, framework=framework, model_file=model_file)
        packed = artifact.pack(model_dir, work_dir / "model.tar.gz")
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigurationError(f"cannot pack {source}: {exc}") from None
    return PackedModel(packed.path, packed.sha256, packed.size, manifest)


def _describe(model_dir: Path, *, framework: str | None, model_file: str | None) -> dict[str, Any]:
    existing: dict[str, Any] = {}
    if (model_dir / artifact.MANIFEST_NAME).is_file():
        existing = artifact.read_manifest(model_dir)
    model_file = model_file or existing.get("model_file") or _guess_model_file(model_dir)
    framework = framework or existing.get("framework") or _guess_framework(model_file)
    metrics = existing.get("metrics") or _metrics_file(model_dir)
    known = {"format_version", "framework", "model_file", "signature", "allow_pickle", "files", "sizes", "metrics"}
    return artifact.write_manifest(
        model_dir,
        framework=framework,
        model_file=model_file,
        signature=existing.get("signature") or {"inputs": [], "outputs": []},
        allow_pickle=bool(existing.get("allow_pickle", False)),
        metrics=metrics,
        extra={k: v for k, v in existing.items() if k not in known},
    )


def _guess_model_file(model_dir: Path) -> str:
    candidates = [rel for rel in artifact.list_files(model_dir) if Path(rel).suffix in FRAMEWORK_BY_SUFFIX]
    if len(candidates) != 1:
        found = ", ".join(candidates) or "none"
        raise ConfigurationError(
            f"cannot tell the model file in {model_dir} (candidates: {found}); pass --model-file"
        )
    return candidates[0]


def _guess_framework(model_file: str) -> str:
    suffix = Path(model_file).suffix
    if suffix not in FRAMEWORK_BY_SUFFIX:
        raise ConfigurationError(f"cannot tell the framework of {model_file}; pass --framework")
    return FRAMEWORK_BY_SUFFIX[suffix]


def _metrics_file(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "metrics.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError:
        raise ConfigurationError(f"{path} is not valid JSON") from None
    return data if isinstance(data, dict) else {}


def _tar_manifest(path: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path, "r:gz") as tar:
            member = tar.extractfile(artifact.MANIFEST_NAME)
            if member is None:
                raise KeyError(artifact.MANIFEST_NAME)
            return json.loads(member.read())
    except (KeyError, tarfile.TarError, ValueError, OSError):
        raise ConfigurationError(f"{path} holds no readable {artifact.MANIFEST_NAME}") from None
