"""``modelport.json``, parsed and checked (the container's view of an artifact).

The writer side lives in :mod:`model_containers.artifact` (standard library only); this
module validates the manifest with pydantic and verifies file hashes before a model loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from model_containers import artifact
from model_containers.errors import ArtifactError, IntegrityError

Framework = Literal["sklearn", "xgboost", "onnx", "torchscript", "python"]

# Canonical dtype names, with the aliases MLflow and pandas users write.
DTYPE_ALIASES = {
    "float": "float64", "double": "float64", "float64": "float64", "float32": "float32",
    "float16": "float16", "int": "int64", "integer": "int64", "long": "int64",
    "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int8",
    "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
    "bool": "bool", "boolean": "bool", "string": "string", "str": "string",
    "object": "string", "bytes": "string", "datetime": "datetime", "date": "datetime",
}


class TensorSpec(BaseModel):
    """One named input or output: a dtype and a shape whose ``-1`` entries are free."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1)
    dtype: str
    shape: list[int] = Field(default_factory=lambda: [-1])
    #: the values a categorical input was trained on (or a classifier's classes, on an
    #: output); informative: unseen values are the model's to handle
    categories: list[str | int | float | bool] | None = None

    @field_validator("dtype")
    @classmethod
    def _known_dtype(cls, value: str) -> str:
        canonical = DTYPE_ALIASES.get(value.lower())
        if canonical is None:
            raise ValueError(f"unknown dtype {value!r}")
        return canonical

    @field_validator("shape")
    @classmethod
    def _dims(cls, value: list[int]) -> list[int]:
        if any(d < -1 or d == 0 for d in value):
            raise ValueError("shape entries must be positive or -1")
        return value


class Signature(BaseModel):
    """Inputs and outputs of a model; an empty ``inputs`` accepts any numeric rows."""

    model_config = ConfigDict(extra="ignore")
    inputs: list[TensorSpec] = Field(default_factory=list)
    outputs: list[TensorSpec] = Field(default_factory=list)


class Manifest(BaseModel):
    """The validated content of ``modelport.json``."""

    model_config = ConfigDict(extra="allow")
    format_version: Literal[1]
    framework: Framework
    model_file: str = Field(min_length=1)
    signature: Signature = Field(default_factory=Signature)
    allow_pickle: bool = False
    files: dict[str, str]
    #: bytes of each file (written since issue 10; older artifacts have none)
    sizes: dict[str, Annotated[int, Field(ge=0)]] | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None
    version: str | None = None
    predict_method: str = Field("predict", pattern=r"^(predict|predict_proba|decision_function|transform)$")


def load_manifest(model_dir: Path) -> Manifest:
    """Read and validate ``modelport.json``; :class:`ArtifactError` names what is wrong."""
    try:
        raw = artifact.read_manifest(model_dir)
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ArtifactError(f"cannot read {artifact.MANIFEST_NAME}: {exc}") from None
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "(root)" for e in exc.errors())
        raise ArtifactError(f"{artifact.MANIFEST_NAME} is invalid at: {fields}") from None
    if manifest.model_file not in manifest.files:
        raise ArtifactError(f"model_file {manifest.model_file!r} is not listed in files")
    return manifest


def verify_artifact(model_dir: Path, manifest: Manifest) -> None:
    """Check every file's SHA-256 against the manifest; raise :class:`IntegrityError` if any differ."""
    problems = artifact.verify_tree(model_dir, manifest.files)
    if problems:
        raise IntegrityError("artifact integrity check failed: " + "; ".join(problems))


def manifest_json(manifest: Manifest) -> str:
    return json.dumps(manifest.model_dump(mode="json"), indent=2)
