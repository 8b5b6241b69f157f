"""One `local up` platform for the attacker's run (tests/security), with a short gateway
header timeout so the slow-headers attack takes a second, not ten."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelport.local.platform import Platform
from modelport.local.platform.testing import running_platform
from tests import platform_fixtures as shared

admin, unique, key_for = shared.admin, shared.unique, shared.key_for
HEADER_TIMEOUT_S = 1.0


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("attacked"), gateway_header_timeout_s=HEADER_TIMEOUT_S) as started:
        yield started
