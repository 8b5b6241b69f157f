"""A model policy's metric may be any metric the reference trainer reports."""

from __future__ import annotations

import pytest

from functions.core.models import ModelPolicy


@pytest.mark.parametrize("metric,direction", [
    ("accuracy", "maximize"), ("balanced_accuracy", "maximize"), ("roc_auc", "maximize"), ("r2", "maximize"),
    ("log_loss", "minimize"), ("rmse", "minimize"), ("mae", "minimize"), ("cv_log_loss", "minimize"),
    ("cv_f1_macro", "maximize"),
])
def test_losses_and_errors_are_minimized_unless_told(metric, direction):
    assert ModelPolicy.model_validate({"metric": metric}).metric_direction == direction
    told = ModelPolicy.model_validate({"metric": metric, "metric_direction": "maximize"})
    assert told.metric_direction == "maximize"  # an explicit direction is kept
