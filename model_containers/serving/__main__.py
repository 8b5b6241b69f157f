"""``serve``: run the inference server on uvicorn (uvloop + httptools), N worker processes."""

from __future__ import annotations

import logging

import uvicorn

from model_containers.logs import configure_logging
from model_containers.settings import ContainerSettings


def main() -> None:
    settings = ContainerSettings()
    configure_logging(settings.log_level)
    workers = settings.worker_count
    logging.getLogger("model_containers.serving").info(
        "serving %s on %s:%d with %d worker(s), max_batch_size=%d",
        settings.model_dir, settings.host, settings.port, workers, settings.max_batch_size)
    # Each worker process builds its own app (and loads its own model) from the same
    # environment, hence the factory import string.
    uvicorn.run("model_containers.serving.app:create_app", factory=True,
                host=settings.host, port=settings.port, workers=workers,
                loop="uvloop", http="httptools", lifespan="on",
                # No access log, no proxy-header middleware, no Server header: each costs
                # every request something and none is needed behind SageMaker.
                access_log=False, proxy_headers=False, server_header=False,
                log_config=None, log_level=settings.log_level.lower(),
                timeout_graceful_shutdown=int(settings.graceful_timeout_s),
                timeout_keep_alive=75)


if __name__ == "__main__":
    main()
