"""Bring-your-own training code: a ``train.py`` defining ``train(ctx)``.

It is found as the hyperparameter ``entry_point`` (a path relative to the ``code`` channel,
which must stay inside it once links are resolved), else ``train.py`` in the ``code``
channel. Nothing outside the code channel runs: another channel holds data (a dataset
upload), never code. ``train(ctx)`` receives the
:class:`~model_containers.training.contract.TrainingContext` and either writes
``modelport.json`` itself or returns the manifest fields (``framework``, ``model_file``,
``signature``, optional ``metrics`` and ``allow_pickle``), which are then written for it.
"""

from __future__ import annotations

import json
from pathlib import Path

from model_containers import artifact
from model_containers.errors import TrainingError
from model_containers.runtimes.custom import import_file
from model_containers.training.contract import TrainingContext


def find_entry_point(ctx: TrainingContext) -> Path | None:
    entry = ctx.hp("entry_point")
    code = ctx.channels.get("code")
    if entry:
        if code is None:
            raise TrainingError("entry_point names a file of the 'code' channel, but there is no 'code' channel")
        root = code.resolve()
        path = (root / str(entry)).resolve()  # an absolute entry_point replaces root here
        if not path.is_relative_to(root):
            raise TrainingError("entry_point must name a file inside the 'code' channel (a relative path)")
        if path.suffix != ".py" or not path.is_file():
            raise TrainingError("entry_point must name a .py file")
        return path
    if code is not None and (code / "train.py").is_file():
        if not (code / "train.py").resolve().is_relative_to(code.resolve()):
            raise TrainingError("train.py must be a file inside the 'code' channel, not a link out of it")
        return code / "train.py"
    return None


def run_custom(ctx: TrainingContext, entry: Path) -> None:
    ctx.log(f"running custom training code {entry.name}")
    module = import_file(entry, "modelport_user_train")
    if not callable(getattr(module, "train", None)):
        raise TrainingError(f"{entry.name} must define train(ctx)")
    ctx.model_dir.mkdir(parents=True, exist_ok=True)
    result = module.train(ctx)
    if isinstance(result, dict):
        metrics = result.get("metrics") or {}
        if metrics:
            (ctx.model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        artifact.write_manifest(ctx.model_dir, framework=result["framework"],
                                model_file=result["model_file"],
                                signature=result.get("signature") or {},
                                allow_pickle=bool(result.get("allow_pickle", False)), metrics=metrics)
    elif not (ctx.model_dir / artifact.MANIFEST_NAME).is_file():
        raise TrainingError("custom training wrote no modelport.json and returned no manifest fields")
    ctx.log(f"custom training wrote {ctx.model_dir}")
