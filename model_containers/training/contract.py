"""SageMaker's training contract: where inputs, hyperparameters and outputs live.

``/opt/ml`` (or ``MODELPORT_ML_ROOT``) holds ``input/config/hyperparameters.json``,
``input/data/<channel>/`` and ``output/failure``; ``SM_MODEL_DIR``, ``SM_CHANNEL_<NAME>`` and
``SM_HPS`` take precedence when SageMaker (or local mode) sets them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_containers.errors import TrainingError
from model_containers.settings import ContainerSettings


def parse_value(value: Any) -> Any:
    """SageMaker passes every hyperparameter as a string: decode JSON scalars and lists."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


@dataclass
class TrainingContext:
    """Everything a trainer (ours or the user's ``train.py``) needs to run."""

    channels: dict[str, Path]
    hyperparameters: dict[str, Any]
    model_dir: Path
    output_dir: Path
    log: Any = field(default=print, repr=False)

    def hp(self, name: str, default: Any = None) -> Any:
        return self.hyperparameters.get(name, default)

    def channel(self, name: str) -> Path:
        try:
            return self.channels[name]
        except KeyError:
            have = ", ".join(sorted(self.channels)) or "none"
            raise TrainingError(f"input channel '{name}' is missing (channels: {have})") from None


def read_context(settings: ContainerSettings, log=print) -> TrainingContext:
    """The context from settings, falling back to the files under ``ml_root``."""
    root = settings.ml_root
    if settings.hyperparameters is not None:
        raw = settings.hyperparameters
    else:
        path = root / "input" / "config" / "hyperparameters.json"
        try:
            raw = json.loads(path.read_text()) if path.is_file() else {}
        except ValueError:
            raise TrainingError("input/config/hyperparameters.json is not valid JSON") from None
        if not isinstance(raw, dict):
            raise TrainingError("hyperparameters must be a JSON object")
    hyperparameters = {str(k): parse_value(v) for k, v in raw.items()}
    channels = dict(settings.channels)
    if not channels:
        data = root / "input" / "data"
        if data.is_dir():
            channels = {p.name: p for p in sorted(data.iterdir()) if p.is_dir()}
    return TrainingContext(channels=channels, hyperparameters=hyperparameters,
                           model_dir=settings.training_model_dir, output_dir=root / "output", log=log)


def write_failure(output_dir: Path, reason: str) -> None:
    """SageMaker shows the first 1 KiB of ``output/failure`` as the job's FailureReason."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "failure").write_text(reason[:1024])
