"""Governance records through the SDK (issue 12): production history, ..."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from modelport import Client
from modelport.client import InvalidInputError, NotFoundError
from tests.sdk.test_client import CARD, predictor_dir


def test_alias_history_and_at(admin: Client, tmp_path, unique: str) -> None:
    name = f"hist-{unique}"
    admin.models.create({"name": name, "owner": "tests", "framework": "python",
                         "policy": {"require_approval": False}})
    for i, version in enumerate(("1.0.0", "1.1.0", "1.2.0")):
        admin.push(name, predictor_dir(tmp_path / str(i), float(i)), version=version, card=CARD)
        admin.aliases.set(name, "production", version)
    periods = list(admin.aliases.history(name, page_size=2))  # two pages
    assert [p.version for p in periods] == ["1.2.0", "1.1.0", "1.0.0"]
    middle = periods[1]
    assert admin.aliases.at(name, "production", middle.start) == middle
    assert admin.aliases.at(name, "production", middle.end).version == "1.2.0"
    assert admin.aliases.at(name, "production", (middle.end - timedelta(microseconds=1)).isoformat()) == middle
    assert admin.aliases.at(name, "production", periods[-1].start - timedelta(seconds=1)) is None
    with pytest.raises(InvalidInputError):
        admin.aliases.at(name, "production", datetime(2025, 1, 1))  # refused before sending
    with pytest.raises(NotFoundError) as unknown:
        admin.aliases.at(name, "staging", periods[0].start)
    assert unknown.value.code == "AliasNotFound"
