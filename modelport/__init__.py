"""Modelport's user side: the SDK (`modelport.Client`), the `modelport` CLI and `modelport local`.

`Client` and the errors are imported on first use, so `modelport.local` and the CLI's
start-up do not pay for the SDK's imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelport.client import Client, ModelportError

__all__ = ["Client", "ModelportError"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        import modelport.client

        return getattr(modelport.client, name)
    raise AttributeError(f"module 'modelport' has no attribute {name!r}")
