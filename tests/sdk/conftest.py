"""One local platform (embedded AWS, handlers, gateway) for the whole tests/sdk package."""

from tests import platform_fixtures as shared

platform, admin, unique, key_for = shared.platform, shared.admin, shared.unique, shared.key_for
