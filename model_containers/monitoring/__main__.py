"""`python -m model_containers.monitoring`: the drift job (the image's `monitor` command).

Exit 0 with the report written, or 1 with the reason in `/opt/ml/output/message`
(SageMaker shows its first KiB as the processing job's ExitMessage).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main() -> int:
    root = Path(os.environ.get("MODELPORT_ML_ROOT", "/opt/ml"))
    started = time.perf_counter()
    from model_containers.monitoring.job import MESSAGE, JobError, run

    try:
        found = run(root)
    except JobError as exc:
        return _fail(root / MESSAGE, str(exc))
    except Exception as exc:  # noqa: BLE001 - any crash ends the job with its reason
        return _fail(root / MESSAGE, f"the drift job crashed: {type(exc).__name__}: {exc}")
    drifted = ", ".join(found["drifted_features"] + found["drifted_outputs"]) or "none"
    print(f"drift job {found['run_id']}: {found['status']} ({found['records']} requests, {found['rows']} rows; "
          f"drifted: {drifted}) in {time.perf_counter() - started:.2f}s", flush=True)
    return 0


def _fail(path: Path, reason: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reason[:1024], encoding="utf-8")
    print(f"drift job failed: {reason}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
