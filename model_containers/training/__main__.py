"""``train``: run the reference tabular trainer, or the user's ``train.py`` when given one."""

from __future__ import annotations

import logging
import sys
import time

from model_containers.errors import ContainerError
from model_containers.logs import configure_logging
from model_containers.settings import ContainerSettings
from model_containers.training.contract import read_context, write_failure

log = logging.getLogger("model_containers.training")


def main() -> int:
    settings = ContainerSettings()
    configure_logging(settings.log_level)
    started = time.perf_counter()
    output_dir = settings.ml_root / "output"
    try:
        ctx = read_context(settings, log=log.info)
        output_dir = ctx.output_dir
        from model_containers.training.custom import find_entry_point, run_custom

        entry = find_entry_point(ctx)
        if entry is not None:
            run_custom(ctx, entry)
        else:
            from model_containers.training.tabular import train_tabular

            train_tabular(ctx)
        from model_containers.training.provenance import code_identity, record_code

        # which code produced the output, for the new version's lineage (code_revision)
        record_code(ctx.model_dir, code_identity(entry, ctx.channels.get("code")))
    except ContainerError as exc:
        log.error("training failed: %s", exc.message)
        write_failure(output_dir, exc.message)
        return 1
    except Exception as exc:
        # The traceback goes to the training log; the failure reason (what SageMaker, the
        # retrain record and the CLI show) is one line.
        log.exception("training failed")
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        write_failure(output_dir, f"{type(exc).__name__}: {first}" if first else type(exc).__name__)
        return 1
    log.info("training finished in %.1fs", time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
