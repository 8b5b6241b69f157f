"""Benchmarks of `modelport local`'s foundation: embedded AWS and local SageMaker."""
