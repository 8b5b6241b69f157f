#!/bin/sh
# The images' ENTRYPOINT. SageMaker starts inference containers as `<image> serve`,
# training containers as `<image> train`, and the drift job (a processing job) passes
# `monitor`; the tests run this same script.
set -e
command="${1:-serve}"
[ "$#" -gt 0 ] && shift
case "$command" in
  serve) exec python -m model_containers.serving "$@" ;;
  train) exec python -m model_containers.training "$@" ;;
  monitor) exec python -m model_containers.monitoring "$@" ;;
  *) echo "usage: serve | train | monitor" >&2; exit 64 ;;
esac
