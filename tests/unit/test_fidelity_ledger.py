"""The AWS fidelity ledger (docs/aws-fidelity.md): every row names an AWS page and real tests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "docs" / "aws-fidelity.md"
_TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _rows() -> list[list[str]]:
    rows = []
    for line in LEDGER.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and cells[0] not in ("behaviour",) and not set(cells[0]) <= {"-", " "}:
            rows.append(cells)
    return rows


def test_every_row_names_an_aws_page_and_at_least_one_test():
    rows = _rows()
    assert len(rows) >= 5
    for behaviour, page, tests, _looser in rows:
        assert re.match(r"https://docs\.aws\.amazon\.com/\S+", page), (behaviour, page)
        assert _TEST.search(tests), (behaviour, tests)


def test_every_named_test_exists():
    for _behaviour, _page, tests, _looser in _rows():
        for path, name in _TEST.findall(tests):
            source = ROOT / path
            assert source.is_file(), path
            assert re.search(rf"^(async )?def {name}\(", source.read_text(), re.MULTILINE), f"{path}::{name}"
