"""The SDK against a running local platform: real HTTP, real handlers, embedded AWS."""

from __future__ import annotations

import hashlib
import logging
import tarfile
from pathlib import Path

import pytest

from modelport import Client
from modelport.client import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UploadError,
)
from modelport.client.upload import put_file

CARD = {"intended_use": "demo", "limitations": "synthetic", "evaluation": "holdout", "training_data": "generated"}


def predictor_dir(root: Path, offset: float = 0.0) -> Path:
    model = root / "model"
    model.mkdir(parents=True, exist_ok=True)
    (model / "predictor.py").write_text(
        "import numpy as np\n\ndef load(model_dir):\n    pass\n\n"
        f"def predict(batch):\n    return np.asarray(batch, dtype=float).sum(axis=1) + {offset!r}\n"
    )
    return model


def new_model(admin: Client, name: str, framework: str = "python") -> None:
    admin.models.create({"name": name, "owner": "tests", "framework": framework})


def test_models_are_created_read_and_paginated(admin: Client, unique: str) -> None:
    names = [f"pg-{unique}-{i}" for i in range(3)]
    for name in names:
        created = admin.models.create({"name": name, "owner": "tests", "framework": "sklearn"})
        assert created.name == name and created.version_count == 0
    assert admin.models.get(names[1]).owner == "tests"
    first = admin.models.page(limit=2)
    assert len(first.items) == 2 and first.cursor
    listed = [m.name for m in admin.models.list(page_size=2)]
    assert [n for n in listed if n.startswith(f"pg-{unique}")] == names
    assert len(listed) == len(set(listed))


def test_errors_carry_code_message_and_status(admin: Client, key_for, unique: str) -> None:
    with pytest.raises(NotFoundError) as missing:
        admin.models.get(f"nope-{unique}")
    assert (missing.value.status, missing.value.code) == (404, "ModelNotFound")
    assert f"nope-{unique}" in missing.value.message

    new_model(admin, f"dup-{unique}")
    with pytest.raises(ConflictError) as exists:
        new_model(admin, f"dup-{unique}")
    assert (exists.value.status, exists.value.code) == (409, "ModelExists")

    with pytest.raises(InvalidInputError) as local:
        admin.models.create({"name": "Not Valid", "owner": "tests", "framework": "sklearn"})
    assert local.value.fields[0]["path"] == "body.name" and local.value.status is None

    with pytest.raises(InvalidInputError) as remote:
        admin.models.page(limit=1000)
    assert remote.value.status == 400 and remote.value.fields[0]["path"] == "query.limit"

    consumer = key_for(["consumer"])
    with pytest.raises(PermissionDeniedError) as forbidden:
        new_model(consumer, f"nope-{unique}")
    assert (forbidden.value.status, forbidden.value.code) == (403, "Forbidden")

    stranger = Client(admin.url, "mp_0123456789abcdef_" + "A" * 43, max_retries=0)
    with pytest.raises(AuthenticationError) as unknown:
        stranger.models.page()
    assert (unknown.value.status, unknown.value.code) == (401, "Unauthenticated")


def test_push_packs_uploads_with_progress_and_the_api_verifies_it(admin: Client, key_for, tmp_path, unique) -> None:
    name = f"push-{unique}"
    new_model(admin, name)
    publisher = key_for(["publisher"], [f"push-{unique}*"])
    seen: list[tuple[int, int]] = []
    published = publisher.push(name, predictor_dir(tmp_path), version="1.0.0", card=CARD,
                               progress=lambda sent, total: seen.append((sent, total)))
    version = published.version
    assert (version.version, version.status.value, version.framework) == ("1.0.0", "registered", "python")
    assert seen[0][0] == 0 and seen[-1] == (version.artifact.size, version.artifact.size)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
    manifest = (tmp_path / "model" / "modelport.json").read_text()
    assert hashlib.sha256((tmp_path / "model" / "predictor.py").read_bytes()).hexdigest() in manifest
    # the server checks the uploaded object's SHA-256 against the published one on submit
    assert publisher.versions.submit(name, "1.0.0").status.value == "pending_approval"
    bumped = publisher.push(name, predictor_dir(tmp_path / "b", offset=1.0), card=CARD)
    assert bumped.version.version == "1.0.1"


def test_a_corrupted_upload_is_refused_and_never_submitted(admin: Client, tmp_path, unique) -> None:
    name = f"bad-{unique}"
    new_model(admin, name)
    good, evil = tmp_path / "good.bin", tmp_path / "evil.bin"
    good.write_bytes(b"a" * 100)
    evil.write_bytes(b"b" * 100)
    published = admin.versions.publish(name, {
        "version": "1.0.0", "sha256": hashlib.sha256(good.read_bytes()).hexdigest(), "size": 100, "card": CARD,
    })  # fmt: skip
    with pytest.raises(UploadError) as refused:
        put_file(published.upload, evil)
    assert refused.value.status == 400 and "Digest" in refused.value.code
    with pytest.raises(ConflictError) as unverified:
        admin.versions.submit(name, "1.0.0")
    assert unverified.value.code == "ArtifactNotVerified"


def test_an_idempotency_key_replays_a_creation(admin: Client, unique: str) -> None:
    body = {"name": f"idem-{unique}", "owner": "tests", "framework": "onnx"}
    first = admin.models.create(body, idempotency_key=f"k-{unique}")
    again = admin.models.create(body, idempotency_key=f"k-{unique}")
    assert again == first
    key = {"owner": f"idem-{unique}", "roles": ["consumer"]}
    created = admin.keys.create(key, idempotency_key=f"key-{unique}")
    replay = admin.keys.create(key, idempotency_key=f"key-{unique}")
    assert created.token and replay.token is None and replay.key.key_id == created.key.key_id


def test_governance_story_four_eyes_alias_and_audit(admin: Client, key_for, tmp_path, unique) -> None:
    name = f"gov-{unique}"
    new_model(admin, name)
    alice = key_for(["publisher", "approver"], owner=f"alice-{unique}")
    bob = key_for(["approver"], owner=f"bob-{unique}")
    alice.push(name, predictor_dir(tmp_path), version="1.0.0", card=CARD)
    alice.versions.submit(name, "1.0.0")
    with pytest.raises(PermissionDeniedError) as self_approval:
        alice.versions.approve(name, "1.0.0")
    assert self_approval.value.code == "FourEyesViolation"
    assert bob.versions.approve(name, "1.0.0", "looks good").status.value == "approved"
    assert alice.aliases.set(name, "production", "1.x").version == "1.0.0"
    assert [a.alias for a in admin.aliases.list(name)] == ["production"]
    assert alice.versions.get(name, "production").version == "1.0.0"
    actions = [event.action for event in admin.audit.list(name)]
    assert actions[0].startswith("alias") and len(actions) >= 5
    report = admin.audit.verify(name)
    assert report.ok and report.chains[0].events == len(actions)


def test_whoami_names_the_key_and_its_permissions(key_for) -> None:
    holder = key_for(["approver"], patterns=["churn*"], owner="bob")
    me = holder.keys.whoami()
    assert (me.key.key_id, me.key.owner, me.key.patterns) == (holder.key_id, "bob", ["churn*"])
    allowed = {p.action for p in me.permissions if p.allowed}
    assert {"decide", "read_audit", "deploy"} <= allowed and "publish" not in allowed and "manage_keys" not in allowed


def test_a_revoked_key_stops_working_at_once(admin: Client, key_for) -> None:
    holder = key_for(["consumer"])
    holder.models.page(limit=1)  # the authorizer's Allow is cached now
    assert admin.keys.revoke(holder.key_id).revoked_at is not None
    with pytest.raises(AuthenticationError):
        holder.models.page(limit=1)
    assert holder.key_id in [k.key_id for k in admin.keys.list() if k.revoked_at]


def test_the_key_is_never_logged_or_shown(platform, key_for, caplog, unique) -> None:
    caplog.set_level(logging.DEBUG)
    client = key_for(["consumer"])
    secret = client._t._http.headers["Authorization"].split(" ", 1)[1]
    client.models.page()
    with pytest.raises(NotFoundError) as error:
        client.models.get(f"missing-{unique}")
    for text in (caplog.text, repr(client), repr(client._t), str(error.value), repr(error.value)):
        assert secret not in text and secret.split("_", 2)[2] not in text


def test_push_of_a_ready_tarball_keeps_its_manifest(admin: Client, tmp_path, unique) -> None:
    from model_containers import artifact

    name = f"tar-{unique}"
    new_model(admin, name)
    model = predictor_dir(tmp_path)
    artifact.write_manifest(model, framework="python", model_file="predictor.py",
                            signature={"inputs": [], "outputs": []}, metrics={"accuracy": 0.9})
    packed = artifact.pack(model, tmp_path / "model.tar.gz")
    published = admin.push(name, packed.path, version="2.0.0", card=CARD)
    assert published.version.artifact.sha256 == packed.sha256
    assert published.version.metrics == {"accuracy": 0.9}
    with tarfile.open(packed.path) as tar:
        assert "modelport.json" in tar.getnames()


def test_push_of_a_single_file_describes_it(admin: Client, tmp_path, unique) -> None:
    name = f"file-{unique}"
    new_model(admin, name)
    single = tmp_path / "predict.py"
    single.write_text("def load(d):\n    pass\n\ndef predict(b):\n    return b\n")
    published = admin.push(name, single, card=CARD)
    assert (published.version.version, published.version.framework) == ("0.0.1", "python")
    assert not (tmp_path / "modelport.json").exists()  # the file was packed from a copy
    with pytest.raises(Exception) as unknown:
        admin.push(name, tmp_path / "missing.bin", card=CARD)
    assert "does not exist" in str(unknown.value)


def test_push_with_a_baseline_profiles_the_table_into_the_artifact_and_lineage(
    platform, admin: Client, tmp_path, unique
) -> None:
    import json

    from model_containers import artifact

    name = f"base-{unique}"
    new_model(admin, name)
    table = tmp_path / "train.csv"
    table.write_text("tenure,plan,churned,score\n" + "".join(
        f"{i % 40},{'basic' if i % 3 else 'pro'},{i % 2},{i / 100}\n" for i in range(200)))
    published = admin.push(name, predictor_dir(tmp_path), version="1.0.0", card=CARD, baseline=table,
                           baseline_target="churned", baseline_predictions="score")
    lineage_sha = published.version.lineage.baseline_sha256
    assert lineage_sha and len(lineage_sha) == 64

    # what was uploaded: baseline.json inside the artifact, listed (and hashed) in its manifest
    stored = tmp_path / "stored.tar.gz"
    s3 = platform.client("s3")
    bucket, key = published.version.artifact.uri[5:].split("/", 1)
    s3.download_file(bucket, key, str(stored))
    unpacked = artifact.unpack(stored, tmp_path / "unpacked")
    assert artifact.read_manifest(unpacked)["files"]["baseline.json"] == lineage_sha
    assert hashlib.sha256((unpacked / "baseline.json").read_bytes()).hexdigest() == lineage_sha
    profile = json.loads((unpacked / "baseline.json").read_text())
    assert list(profile["features"]) == ["tenure", "plan"]
    assert profile["features"]["plan"]["categories"] == {"basic": 133, "pro": 67}
    assert profile["label"]["kind"] == "categorical" and profile["target"] == "churned"
    assert profile["outputs"]["prediction"]["kind"] == "numeric"


def test_a_baseline_that_cannot_be_made_is_refused_before_anything_is_published(admin: Client, tmp_path, unique) -> None:
    from modelport.client import ConfigurationError

    name = f"nobase-{unique}"
    new_model(admin, name)
    table = tmp_path / "train.csv"
    table.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigurationError, match="no target column 'churned'"):
        admin.push(name, predictor_dir(tmp_path), card=CARD, baseline=table, baseline_target="churned")
    with pytest.raises(ConfigurationError, match=r"\.csv or \.parquet"):
        admin.push(name, predictor_dir(tmp_path), card=CARD, baseline=tmp_path / "train.txt")
    with pytest.raises(ConfigurationError, match="not a profile"):
        admin.push(name, predictor_dir(tmp_path), card=CARD, baseline={"format_version": 9})
    assert list(admin.versions.list(name)) == []

