"""Settings of the model containers (one pydantic-settings class for the image).

Everything comes from the environment: ``MODELPORT_*`` names, plus the names SageMaker
itself sets (``SAGEMAKER_BIND_TO_PORT``, ``SM_MODEL_DIR``, ``SM_HPS``, ``SM_CHANNEL_<NAME>``)
through aliases. Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

_CHANNEL_PREFIX = "SM_CHANNEL_"


class _ChannelsSource(PydanticBaseSettingsSource):
    """Collects SageMaker's ``SM_CHANNEL_<NAME>=<dir>`` variables into ``channels``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        channels = {
            key[len(_CHANNEL_PREFIX):].lower(): value
            for key, value in os.environ.items()
            if key.startswith(_CHANNEL_PREFIX) and value
        }
        return {"channels": channels} if channels else {}


class ContainerSettings(BaseSettings):
    """Serving and training settings of the Modelport model containers."""

    model_config = SettingsConfigDict(env_prefix="MODELPORT_", extra="ignore",
                                      populate_by_name=True)

    # --- serving -------------------------------------------------------------------
    port: int = Field(8080, ge=0, le=65535,
                      validation_alias=AliasChoices("SAGEMAKER_BIND_TO_PORT", "MODELPORT_PORT"),
                      description="TCP port; SageMaker may choose it through SAGEMAKER_BIND_TO_PORT.")
    host: str = Field("0.0.0.0", description="Interface to bind; 127.0.0.1 outside a container.")
    model_dir: Path = Field(Path("/opt/ml/model"), description="The unpacked artifact directory.")
    workers: int | None = Field(None, ge=1, description="Server processes; defaults to the cores.")
    # On by default: the batcher never waits on a timer for a lone request (see
    # serving/batching.py), so it costs one loop iteration at low load and multiplies
    # throughput under concurrency. Set 1 for models whose rows are not independent.
    max_batch_size: int = Field(32, ge=1, le=4096,
                                description="Adaptive batching: most rows per predict; 1 turns it off.")
    max_latency_ms: float = Field(5.0, gt=0, le=10_000,
                                  description="Adaptive batching: longest wait for batch-mates.")
    max_body_bytes: int = Field(6 * 1024 * 1024, ge=1024,
                                description="Largest request body accepted (413 beyond).")
    model_name: str | None = Field(None, description="OIP model name; else the manifest's, else 'model'.")
    graceful_timeout_s: float = Field(30.0, gt=0, description="SIGTERM: wait this long for in-flight requests.")
    log_level: str = Field("info", description="Python log level name.")
    # The trust decision belongs to the platform, not to whoever packed the artifact: the
    # deploy workflow sets this from the model's policy, and a pickle loads only when this
    # AND the artifact's manifest allow it.
    allow_pickle: bool = Field(False, description="The model's policy allows pickled models.")

    # --- training ------------------------------------------------------------------
    ml_root: Path = Field(Path("/opt/ml"), description="Root of SageMaker's /opt/ml layout.")
    sm_model_dir: Path | None = Field(None, validation_alias=AliasChoices("SM_MODEL_DIR"),
                                      description="Where training writes the model (SM_MODEL_DIR).")
    hyperparameters: dict[str, Any] | None = Field(
        None, validation_alias=AliasChoices("SM_HPS", "MODELPORT_HYPERPARAMETERS"),
        description="Hyperparameters as JSON; else input/config/hyperparameters.json.")
    channels: dict[str, Path] = Field(default_factory=dict,
                                      description="Input channels, from SM_CHANNEL_<NAME>.")

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        return (init_settings, env_settings, _ChannelsSource(settings_cls))

    @property
    def worker_count(self) -> int:
        if self.workers:
            return self.workers
        # The cores this process may run on (a container's CPU set), not the host's count.
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

    @property
    def training_model_dir(self) -> Path:
        return self.sm_model_dir or self.ml_root / "model"
