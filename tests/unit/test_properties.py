"""Property-based tests: semver ordering and resolution, and the status machine."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.core import auditing, governance, registry
from functions.core.errors import InvalidTransition, VersionNotFound
from functions.core.models import ModelCard, NewModel, NewVersion, VersionStatus
from functions.core.ports import StoredObject
from functions.core.semver import Bump, SemVer, VersionSpec, best_match
from tests.unit.conftest import ctx_for
from tests.unit.fakes import make_deps

parts = st.integers(min_value=0, max_value=99_999)
small = st.integers(min_value=0, max_value=12)
versions = st.builds(SemVer, parts, parts, parts)
small_versions = st.builds(SemVer, small, small, small)


@given(versions, versions)
def test_sort_key_order_is_semver_order(a, b):
    assert (a < b) == (a.sort_key < b.sort_key)
    assert ((a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)) == (a < b)


@given(versions)
def test_parse_roundtrip(v):
    assert SemVer.parse(str(v)) == v
    assert SemVer.from_sort_key(v.sort_key) == v


@given(st.builds(SemVer, small, small, small), st.sampled_from(list(Bump)))
def test_bump_is_the_next_release(v, part):
    nxt = v.bump(part)
    assert nxt > v
    assert nxt == {
        Bump.major: SemVer(v.major + 1, 0, 0),
        Bump.minor: SemVer(v.major, v.minor + 1, 0),
        Bump.patch: SemVer(v.major, v.minor, v.patch + 1),
    }[part]


def specs_for(pool):
    exact = st.sampled_from(pool).map(str) if pool else st.just("1.2.3")
    return st.one_of(
        st.just("latest"),
        exact,
        small.map(lambda m: f"{m}.x"),
        st.tuples(small, small).map(lambda t: f"{t[0]}.{t[1]}.x"),
        small_versions.map(str),
    )


def oracle(spec: str, pool: set[SemVer]) -> SemVer | None:
    """Independent of sort keys: compare tuples."""
    if spec == "latest":
        matching = pool
    elif spec.endswith(".x"):
        fixed = tuple(int(p) for p in spec[:-2].split("."))
        matching = {v for v in pool if (v.major, v.minor, v.patch)[: len(fixed)] == fixed}
    else:
        matching = {v for v in pool if str(v) == spec}
    return max(matching) if matching else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_resolution_matches_oracle(data):
    pool = data.draw(st.sets(small_versions, min_size=0, max_size=12))
    deps = make_deps()
    ctx = ctx_for("publisher")
    registry.create_model(deps, ctx, NewModel(name="m", owner="o", framework="onnx"))
    for v in pool:
        registry.publish_version(deps, ctx, "m", NewVersion(version=str(v), sha256="ab" * 32, size=1))
    for _ in range(5):
        spec = data.draw(specs_for(sorted(pool)))
        expected = oracle(spec, pool)
        assert best_match(VersionSpec.parse(spec), pool) == expected
        if expected is None:
            with pytest.raises(VersionNotFound):
                registry.resolve(deps, ctx, "m", spec)
        else:
            assert registry.resolve(deps, ctx, "m", spec).version == str(expected)


ALLOWED = {
    ("registered", "submit"): "pending_approval",
    ("pending_approval", "approve"): "approved",
    ("pending_approval", "reject"): "rejected",
    ("approved", "archive"): "archived",
    ("rejected", "archive"): "archived",
}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["submit", "approve", "reject", "archive"]), max_size=8))
def test_status_machine(actions):
    deps = make_deps()
    pub, appr = ctx_for("publisher", id="p" * 16, owner="p"), ctx_for("approver", "publisher", id="a" * 16, owner="a")
    registry.create_model(deps, pub, NewModel(name="m", owner="o", framework="onnx"))
    card = ModelCard(intended_use="a", limitations="b", evaluation="c", training_data="d")
    version = registry.publish_version(deps, pub, "m", NewVersion(version="1.0.0", sha256="ab" * 32, size=1, card=card))
    deps.artifacts.objects[version.version.artifact.uri] = StoredObject(sha256="ab" * 32, size=1)
    calls = {
        "submit": lambda: governance.submit(deps, pub, "m", "1.0.0"),
        "approve": lambda: governance.approve(deps, appr, "m", "1.0.0"),
        "reject": lambda: governance.reject(deps, appr, "m", "1.0.0"),
        "archive": lambda: governance.archive(deps, appr, "m", "1.0.0"),
    }
    status, history = "registered", ["registered"]
    for action in actions:
        nxt = ALLOWED.get((status, action))
        if nxt is None:
            with pytest.raises(InvalidTransition):
                calls[action]()
        else:
            assert calls[action]().status == VersionStatus(nxt)
            status = nxt
            history.append(nxt)
    stored = registry.resolve(deps, pub, "m", "1.0.0")
    assert stored.status == status and [h.status for h in stored.history] == history
    result = auditing.verify(deps, ctx_for("admin"), "m")
    assert result.ok and result.events == len(history) + 1  # + model.create
