#!/bin/sh
# The images' ENTRYPOINT. SageMaker starts inference containers as `<image> serve` and
# training containers as `<image> train`; the tests run this same script.
set -e
command="${1:-serve}"
[ "$#" -gt 0 ] && shift
case "$command" in
  serve) exec python -m model_containers.serving "$@" ;;
  train) exec python -m model_containers.training "$@" ;;
  *) echo "usage: serve | train" >&2; exit 64 ;;
esac
