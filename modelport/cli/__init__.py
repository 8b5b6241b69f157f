"""The `modelport` CLI; the entry point is `modelport.cli.main:app`."""
