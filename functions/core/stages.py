"""What a stage lets deployments (and training jobs) use: instance types and container images.

Image choice (`ImageCatalog.resolve`): Modelport's CPU or GPU image by instance family, an
AWS framework image resolved ahead of time (the catalog maps `<framework>:<version>:cpu|gpu`
to URIs, filled at synth time or by local mode; nothing resolves images inside a Lambda),
or any custom image URI that fulfils SageMaker's serving contract (other languages).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.core.endpoints import EndpointSettings
from functions.core.errors import ImageNotAvailable, InstanceTypeNotAllowed

IMAGE_URI_RE = r"^[a-z0-9][a-z0-9.-]*(:\d+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]{1,128}|@sha256:[0-9a-f]{64})?$"


class ImageRef(BaseModel):
    """A container other than Modelport's: a custom `uri`, or an AWS `framework` image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str | None = Field(default=None, max_length=512, pattern=IMAGE_URI_RE,
                            description="any image fulfilling SageMaker's serving contract")
    framework: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
                                  description="AWS framework image, e.g. sklearn, xgboost, pytorch")
    version: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$",
                                description="framework version, e.g. 1.2-1")

    @model_validator(mode="after")
    def _one_kind(self) -> ImageRef:
        if (self.uri is None) == (self.framework is None):
            raise ValueError("give either uri or framework (with version)")
        if self.framework is not None and self.version is None:
            raise ValueError(f"framework image {self.framework!r} needs a version, e.g. 1.2-1")
        if self.uri is not None and self.version is not None:
            raise ValueError("version goes with framework, not with uri")
        return self


@dataclass(frozen=True)
class ImageCatalog:
    """Image URIs a stage offers, resolved ahead of time (CDK synth or local settings)."""

    cpu: str | None = None
    gpu: str | None = None
    #: `<framework>:<version>:cpu|gpu` → image URI.
    frameworks: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, settings: EndpointSettings, image: ImageRef | None) -> str:
        """The image URI that serves `settings` (raises ImageNotAvailable naming what is missing)."""
        accelerator = "gpu" if settings.gpu else "cpu"
        if image is not None and image.uri is not None:
            return image.uri
        if image is not None:
            key = f"{image.framework}:{image.version}:{accelerator}"
            uri = self.frameworks.get(key)
            if uri is None:
                offered = ", ".join(sorted(self.frameworks)) or "none"
                raise ImageNotAvailable(
                    f"no AWS {image.framework} {image.version} {accelerator.upper()} image is configured "
                    f"for this stage (offered: {offered})",
                    [{"path": "body.image", "message": f"{key} is not offered"}],
                )
            return uri
        uri = self.gpu if settings.gpu else self.cpu
        if uri is None:
            raise ImageNotAvailable(
                f"this stage has no Modelport {accelerator.upper()} image for {settings.instance_type}",
                [{"path": "body.settings.instance_type", "message": f"no {accelerator} image"}],
            )
        return uri


@dataclass(frozen=True)
class StageRules:
    """What a stage allows deployments to ask for."""

    stage: str
    allowed_instance_types: tuple[str, ...]
    images: ImageCatalog = ImageCatalog()

    def check(self, settings: EndpointSettings, image: ImageRef | None) -> str:
        """Raise InstanceTypeNotAllowed / ImageNotAvailable; return the image URI."""
        if settings.instance_type not in self.allowed_instance_types:
            raise InstanceTypeNotAllowed(
                f"instance type {settings.instance_type} is not allowed on stage {self.stage!r} "
                f"(allowed: {', '.join(self.allowed_instance_types)})",
                [{"path": "body.settings.instance_type", "message": f"{settings.instance_type} is not allowed"}],
            )
        return self.images.resolve(settings, image)
