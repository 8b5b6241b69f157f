"""Domain records and commands: models, versions, aliases, API keys, principals.

Everything here is plain pydantic: no storage calls, no HTTP. Records (`Record`
subclasses) are what the store persists; commands (`New...`) are validated inputs to the
use cases, shared by the API (as request bodies) and by workflows.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.core.monitoring_policy import MonitoringPolicy
from functions.core.periods import AliasPeriod

# API keys and principals live in `principals`; re-exported, since every part imports them from here
from functions.core.principals import (  # noqa: F401
    PATTERN_RE,
    ApiKey,
    ApiKeyInfo,
    Contributor,
    NewKey,
    Principal,
    Role,
    same_person,
    system_actor,
)
from functions.core.records import (
    ALIAS_PREFIX,
    META,
    MODELS_INDEX_PK,
    PLATFORM_CHAIN,
    IndexKey,
    ItemKey,
    Record,
    model_pk,
    version_sk,
)
from functions.core.risk import ProductionState, RiskTier, Signoff
from functions.core.semver import Bump, SemVer

MODEL_NAME_RE = r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$"
SHA256_RE = r"^[0-9a-f]{64}$"
RESERVED_NAMES = frozenset({PLATFORM_CHAIN})

ModelName = Annotated[str, Field(pattern=MODEL_NAME_RE, description="lowercase letters, digits, '-'")]
Framework = Literal["sklearn", "xgboost", "onnx", "torchscript", "python"]
Dtype = Literal[
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "string", "datetime",
]  # fmt: skip
#: a category (or class label) recorded in a signature
Category = Annotated[str, Field(max_length=256)] | int | float | bool
ShortText = Annotated[str, Field(max_length=4000)]


class VersionStatus(StrEnum):
    registered = "registered"
    pending_approval = "pending_approval"
    approved = "approved"
    rejected = "rejected"
    archived = "archived"


#: The status machine: every other transition is an InvalidTransition.
TRANSITIONS: dict[VersionStatus, frozenset[VersionStatus]] = {
    VersionStatus.registered: frozenset({VersionStatus.pending_approval}),
    VersionStatus.pending_approval: frozenset({VersionStatus.approved, VersionStatus.rejected}),
    VersionStatus.approved: frozenset({VersionStatus.archived}),
    VersionStatus.rejected: frozenset({VersionStatus.archived}),
    VersionStatus.archived: frozenset(),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --- models -------------------------------------------------------------------------------


class RetrainAction(StrEnum):
    """What a retrained version that beats production does next."""

    stop = "stop"
    submit = "submit"
    deploy_staging = "deploy_staging"


#: metrics the reference trainer reports that are better when lower: a policy naming one
#: without a direction minimizes it
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae", "mse"})


class ModelPolicy(_Strict):
    """Governance and retraining policy of one model."""

    #: `production` takes only approved versions.
    require_approval: bool = True
    #: pickled models may load (unpickling runs code: such versions need approval to run).
    allow_pickle: bool = False
    #: versions may run their own code: `python` predictors, custom serving or training
    #: images. Such versions are approved before they run anywhere, whatever the alias.
    allow_code: bool = False
    #: production metric compared by retraining (a key of the versions' `metrics`).
    metric: str = Field(default="accuracy", min_length=1, max_length=64)
    #: default: `minimize` for errors and losses (`LOWER_IS_BETTER`, also as `cv_<name>`),
    #: else `maximize`
    metric_direction: Literal["maximize", "minimize"] = "maximize"
    #: a candidate must beat production by at least this much (absolute).
    min_improvement: float = Field(default=0.0, ge=0)
    on_retrain: RetrainAction = RetrainAction.submit
    #: `high` needs two approvals from different approvers (`functions.core.risk`).
    risk_tier: RiskTier = RiskTier.medium
    #: days within which production must be revalidated (None: the tier's default).
    revalidation_days: int | None = Field(default=None, ge=1, le=3650)
    #: drift monitoring: schedule, window, thresholds and what drift does (`on_drift`).
    monitoring: MonitoringPolicy = MonitoringPolicy()

    @model_validator(mode="before")
    @classmethod
    def _direction_of_the_metric(cls, data: Any) -> Any:
        if isinstance(data, dict) and "metric_direction" not in data:
            metric = str(data.get("metric") or "")
            if metric.removeprefix("cv_") in LOWER_IS_BETTER:
                data = {**data, "metric_direction": "minimize"}
        return data


class TrainingSpec(_Strict):
    """How the model is retrained: an image of one's own or a built-in trainer."""

    image: str | None = Field(default=None, max_length=512)
    trainer: str | None = Field(default=None, max_length=64, description="built-in trainer name")
    instance_type: str = Field(default="ml.m5.large", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    #: key prefix under the datasets bucket whose new files trigger a retrain.
    dataset_prefix: str | None = Field(default=None, max_length=512)

    @model_validator(mode="after")
    def _one_source(self) -> "TrainingSpec":
        if self.image and self.trainer:
            raise ValueError("give either image or trainer, not both")
        return self


class NewModel(_Strict):
    """Command: create a model."""

    name: ModelName
    description: ShortText = ""
    owner: str = Field(min_length=1, max_length=256)
    framework: Framework
    policy: ModelPolicy = ModelPolicy()
    training: TrainingSpec = TrainingSpec()

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_NAMES:
            raise ValueError(f"{name!r} is reserved")
        return name


class Model(Record):
    KIND: ClassVar[str] = "model"

    name: str
    description: str = ""
    owner: str
    framework: Framework
    policy: ModelPolicy = ModelPolicy()
    training: TrainingSpec = TrainingSpec()
    created_at: datetime
    created_by: str
    #: highest published version, kept here so a bump needs no second read.
    latest_version: str | None = None
    version_count: int = 0
    #: revision of the model's settings (`If-Match`); bumped by PATCH and retire only.
    revision: int = 1
    status: Literal["active", "retired"] = "active"
    retired_at: datetime | None = None
    retired_by: str | None = None
    #: what backs `production` and when it is due for revalidation (`functions.core.risk`).
    production: ProductionState | None = None

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.name)

    @staticmethod
    def key_for(name: str) -> ItemKey:
        return ItemKey(model_pk(name), META)

    def index_keys(self) -> IndexKey:
        return IndexKey(MODELS_INDEX_PK, self.name)


# --- versions -----------------------------------------------------------------------------


class TensorSpec(_Strict):
    name: str = Field(min_length=1, max_length=128)
    dtype: Dtype
    #: -1 marks a variable dimension (e.g. the batch).
    shape: list[Annotated[int, Field(ge=-1)]] = Field(default_factory=list, max_length=16)
    #: a categorical input's training values, or a classifier output's classes (`datetime`
    #: inputs are ISO-8601 text).
    categories: list[Category] | None = Field(default=None, max_length=256)


class Signature(_Strict):
    inputs: list[TensorSpec] = Field(default_factory=list, max_length=256)
    outputs: list[TensorSpec] = Field(default_factory=list, max_length=256)


class Lineage(_Strict):
    dataset_uri: str | None = Field(default=None, max_length=1024)
    dataset_sha256: str | None = Field(default=None, pattern=SHA256_RE)
    #: e.g. a git revision; for a retrain, the trainer's version and code SHA-256 and its image.
    code_revision: str | None = Field(default=None, max_length=512)
    parent_version: str | None = None
    training_job: str | None = Field(default=None, max_length=256)
    #: SHA-256 of the artifact's `baseline.json` (the training data's profile the drift job uses).
    baseline_sha256: str | None = Field(default=None, pattern=SHA256_RE)
    #: who asked for the upload URL of the training data (retrained versions; set by the
    #: platform only). None: the file reached the bucket otherwise, nobody known.
    dataset_uploaded_by: Contributor | None = None
    #: who started the retrain that produced the version (today: the upload that triggered it).
    retrain_started_by: Contributor | None = None

    def contributors(self) -> dict[str, Contributor]:
        """What each recorded person did to shape the version (four eyes excludes them all)."""
        found = {"uploaded its training data": self.dataset_uploaded_by,
                 "started its retrain": self.retrain_started_by}
        return {why: who for why, who in found.items() if who is not None}

    @field_validator("parent_version")
    @classmethod
    def _semver(cls, value: str | None) -> str | None:
        return None if value is None else str(SemVer.parse(value))


class ModelCard(_Strict):
    """Required, complete, before a version can be submitted for approval."""

    intended_use: ShortText | None = None
    limitations: ShortText | None = None
    evaluation: ShortText | None = None
    training_data: ShortText | None = None

    def missing(self) -> list[str]:
        return [name for name, value in self if not (value and value.strip())]


class Artifact(_Strict):
    uri: str
    sha256: str = Field(pattern=SHA256_RE)
    size: int = Field(gt=0)


class StatusChange(_Strict):
    status: VersionStatus
    at: datetime
    by: str
    comment: str | None = None


class NewVersion(_Strict):
    """Command: publish a version, explicitly (`version`) or as a `bump` of the latest."""

    version: str | None = Field(default=None, description="MAJOR.MINOR.PATCH")
    bump: Bump | None = None
    sha256: str = Field(pattern=SHA256_RE, description="hex SHA-256 of model.tar.gz")
    size: int = Field(gt=0, le=100 * 1024**3, description="bytes of model.tar.gz")
    framework: Framework | None = Field(default=None, description="defaults to the model's")
    signature: Signature = Signature()
    metrics: dict[str, float] = Field(default_factory=dict, max_length=64)
    lineage: Lineage = Lineage()
    card: ModelCard = ModelCard()

    @model_validator(mode="after")
    def _version_or_bump(self) -> "NewVersion":
        if (self.version is None) == (self.bump is None):
            raise ValueError("give exactly one of version or bump")
        if self.version is not None:
            SemVer.parse(self.version)
        return self


class ModelVersion(Record):
    KIND: ClassVar[str] = "version"

    model: str
    version: str
    status: VersionStatus = VersionStatus.registered
    artifact: Artifact
    framework: Framework
    signature: Signature = Signature()
    metrics: dict[str, float] = Field(default_factory=dict)
    lineage: Lineage = Lineage()
    card: ModelCard = ModelCard()
    created_at: datetime
    created_by: str
    created_by_owner: str | None = None
    history: list[StatusChange] = Field(default_factory=list)
    #: every approval (a `high` model needs two, by different people) and revalidation (`risk`).
    approvals: list[Signoff] = Field(default_factory=list)
    revalidations: list[Signoff] = Field(default_factory=list)

    def shaped_by(self, actor: Principal) -> str | None:
        """What `actor` (by key or by normalized owner) did to shape this version, or None:
        published it, uploaded its training data, started its retrain."""
        if same_person(self.created_by, self.created_by_owner, actor.id, actor.owner):
            return "published it"
        return next((why for why, who in self.lineage.contributors().items() if who.is_(actor)), None)

    @property
    def semver(self) -> SemVer:
        return SemVer.parse(self.version)

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.model, self.semver)

    @staticmethod
    def key_for(model: str, version: SemVer) -> ItemKey:
        return ItemKey(model_pk(model), version_sk(version.sort_key))


class Alias(Record):
    """A movable name for a version; `endpoint` is set once a deployment serves it."""

    KIND: ClassVar[str] = "alias"

    model: str
    alias: str
    version: str
    endpoint: str | None = None
    updated_at: datetime
    updated_by: str
    #: the open period of its production history (`functions.core.periods`), which the next move closes.
    period: AliasPeriod | None = None

    @property
    def key(self) -> ItemKey:
        return self.key_for(self.model, self.alias)

    @staticmethod
    def key_for(model: str, alias: str) -> ItemKey:
        return ItemKey(model_pk(model), f"{ALIAS_PREFIX}{alias}")
