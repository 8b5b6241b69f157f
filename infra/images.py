"""Container images for SageMaker: Modelport's own repositories or AWS framework images."""

from __future__ import annotations

import re
from collections.abc import Iterable

from functions.core.endpoints import is_gpu_instance

_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+)"
)


def framework_image_uri(
    *, framework: str, version: str, region: str, instance_type: str, py_version: str | None = None
) -> str:
    """URI of an AWS framework inference image (`sklearn`, `xgboost`, `pytorch`, ...).

    Resolved at synth time with sagemaker-core's `image_uris`, which reads the JSON files it
    ships: no network and no AWS credentials. Raises `ValueError` naming what is unknown.
    """
    from sagemaker.core import image_uris  # slow import; only pinned framework endpoints need it

    try:
        return image_uris.retrieve(
            framework,
            region=region,
            version=version,
            py_version=py_version,
            instance_type=instance_type,
            image_scope="inference",
        )
    except (ValueError, KeyError) as error:
        raise ValueError(
            f"no AWS {framework} {version} inference image for {instance_type} in {region}: {error}"
        ) from None


def ecr_repository_arn(image_uri: str, *, partition: str = "aws") -> str:
    """ARN of the ECR repository an image URI points into (for least-privilege pull rights)."""
    match = _ECR_URI.match(image_uri)
    if not match:
        raise ValueError(f"not an ECR image URI: {image_uri}")
    return f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repo']}"


def framework_catalog(
    images: Iterable, *, region: str, allowed_instance_types: tuple[str, ...]
) -> dict[str, str]:
    """`{"<framework>:<version>:cpu|gpu": "<image URI>"}` for the stage's framework images
    (`FrameworkImage`s), the form `MODELPORT_FRAMEWORK_IMAGES` takes (contracts.md).

    Each accelerator is resolved for an allowed instance type of that kind. Raises
    `ValueError` naming the entry that has no image or no instance type to run on.
    """
    catalog: dict[str, str] = {}
    for image in images:
        for accelerator in image.accelerators:
            kind = [t for t in allowed_instance_types if is_gpu_instance(t) == (accelerator == "gpu")]
            if not kind:
                raise ValueError(
                    f"framework image {image.framework} {image.version} ({accelerator}): the stage allows "
                    f"no {accelerator.upper()} instance type"
                )
            catalog[f"{image.framework}:{image.version}:{accelerator}"] = framework_image_uri(
                framework=image.framework, version=image.version, region=region,
                instance_type=kind[0], py_version=image.py_version,
            )  # fmt: skip
    return catalog
