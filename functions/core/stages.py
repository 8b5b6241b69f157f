"""What a stage lets deployments (and training jobs) use: instance types and container images.

Image choice (`ImageCatalog.resolve`): Modelport's CPU or GPU image by instance family, or
any custom image URI that fulfils SageMaker's serving contract (other languages). AWS's
framework images are refused (FRAMEWORK_IMAGES_REFUSED) until Modelport artifacts carry
what their containers load.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.core.endpoints import EndpointSettings
from functions.core.errors import ImageNotAvailable, InstanceTypeNotAllowed

#: AWS's scikit-learn and XGBoost serving containers run an inference script of the model's own
#: (`SAGEMAKER_PROGRAM` in `SAGEMAKER_SUBMIT_DIRECTORY`, with `model_fn`/`input_fn`/`predict_fn`/
#: `output_fn`), or load a pickled `xgboost-model` file; a Modelport artifact carries neither
#: (its model is skops, ONNX, XGBoost JSON/UBJ, ... with modelport.json), and the containers
#: read none of the MODELPORT_* settings. Nothing here can run those containers to test a
#: path that fills their contract, so a deployment naming one is refused before it starts.
FRAMEWORK_IMAGES_REFUSED = (
    "AWS framework images are not supported: their containers load the model through an inference script "
    "of the artifact's own (SAGEMAKER_PROGRAM, SAGEMAKER_SUBMIT_DIRECTORY, model_fn) or a pickled xgboost-model "
    "file, which Modelport artifacts do not carry. Serve scikit-learn and XGBoost models on Modelport's image "
    "(leave image out), or give a custom image uri that fulfils SageMaker's serving contract"
)

IMAGE_URI_RE = r"^[a-z0-9][a-z0-9.-]*(:\d+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]{1,128}|@sha256:[0-9a-f]{64})?$"


class ImageRef(BaseModel):
    """A container other than Modelport's: a custom `uri`, or an AWS `framework` image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str | None = Field(default=None, max_length=512, pattern=IMAGE_URI_RE,
                            description="any image fulfilling SageMaker's serving contract")
    framework: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
                                  description="an AWS framework image (e.g. sklearn): refused with 400 "
                                              "ImageNotAvailable, their containers expect an inference script")
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
    """Image URIs a stage offers (CDK synth or local settings)."""

    cpu: str | None = None
    gpu: str | None = None

    def resolve(self, settings: EndpointSettings, image: ImageRef | None) -> str:
        """The image URI that serves `settings` (raises ImageNotAvailable naming what is missing)."""
        accelerator = "gpu" if settings.gpu else "cpu"
        if image is not None and image.uri is not None:
            return image.uri
        if image is not None:
            raise ImageNotAvailable(
                f"{image.framework} {image.version}: {FRAMEWORK_IMAGES_REFUSED}",
                [{"path": "body.image.framework", "message": "AWS framework images are not supported"}],
            )
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
