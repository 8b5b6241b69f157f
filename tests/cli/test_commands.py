"""`modelport ...` through typer's CliRunner against a running local platform."""

from __future__ import annotations

import json
import stat

import pytest

from modelport.cli.main import app

CARD = ["--intended-use", "demo", "--limitations", "synthetic", "--evaluation", "holdout",
        "--training-data", "generated"]


def model_dir(root, offset=0.0):
    d = root / "model"
    d.mkdir(parents=True, exist_ok=True)
    (d / "predictor.py").write_text(
        f"import numpy as np\ndef load(d):\n    pass\ndef predict(b):\n    return np.asarray(b, dtype=float).sum(axis=1) + {offset}\n"
    )
    return d


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def one_error_line(result, *expected: str) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.output
    for text in expected:
        assert text in lines[0]
    return lines[0]


def test_every_command_has_json() -> None:
    import typer.main

    def leaves(command, path: str):
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from leaves(sub, f"{path} {name}")
        else:
            yield path, command

    found = dict(leaves(typer.main.get_command(app), "modelport"))
    assert {"modelport push", "modelport deploy", "modelport local up", "modelport retrain status"} <= set(found)
    missing = [p for p, c in found.items() if not any("--json" in param.opts for param in c.params)]
    assert missing == []


def test_login_stores_a_private_config_and_env_wins(cli, platform, tmp_path, unique) -> None:
    out = ok(cli("login", "--url", platform.api_url, "--key", platform.admin_key, env={"MODELPORT_URL": "", "MODELPORT_API_KEY": ""}))
    secret = platform.admin_key.split("_", 2)[2]
    assert secret not in out and "logged in" in out
    config = tmp_path / "config" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["url"] == platform.api_url
    # with only the file: it is used
    ok(cli("models", "create", f"login-{unique}", "--framework", "sklearn", "--owner", "t", env={"MODELPORT_URL": "", "MODELPORT_API_KEY": ""}))
    # an environment variable wins over the file
    down = cli("models", "list", env={"MODELPORT_URL": "http://127.0.0.1:9"})
    one_error_line(down, "cannot reach http://127.0.0.1:9", "Unreachable")


def test_login_with_a_bad_key_saves_nothing_and_echoes_nothing(cli, platform, tmp_path) -> None:
    bad = "mp_0123456789abcdef_" + "Z" * 43
    line = one_error_line(cli("login", "--url", platform.api_url, "--key", bad), "Unauthenticated", "HTTP 401")
    assert "Z" * 10 not in line
    assert not (tmp_path / "config" / "config.json").exists()


def test_no_configuration_is_one_clear_line(cli) -> None:
    one_error_line(cli("models", "list", env={"MODELPORT_URL": "", "MODELPORT_API_KEY": ""}), "no API URL", "modelport login")


def test_models_create_list_show(cli, unique) -> None:
    name = f"m-{unique}"
    out = ok(cli("models", "create", name, "--framework", "sklearn", "--owner", "team", "--trainer", "tabular",
                 "--hp", "target=churned", "--dataset-prefix", f"datasets/{name}/", "--json"))
    created = json.loads(out)
    assert created["training"] == {"trainer": "tabular", "image": None, "instance_type": "ml.m5.large",
                                   "hyperparameters": {"target": "churned"}, "dataset_prefix": f"datasets/{name}/"}
    assert name in ok(cli("models", "list"))
    assert json.loads(ok(cli("models", "show", name, "--json")))["model"]["owner"] == "team"
    one_error_line(cli("models", "create", name, "--framework", "sklearn", "--owner", "team"), "ModelExists", "HTTP 409")
    one_error_line(cli("models", "create", name, "--framework", "sklearn", "--owner", "t", "--hp", "oops"), "KEY=VALUE")
    one_error_line(cli("models", "show", f"none-{unique}"), "ModelNotFound", "HTTP 404")


def test_push_submit_four_eyes_approve_alias(cli, token, tmp_path, unique) -> None:
    name = f"p-{unique}"
    ok(cli("models", "create", name, "--framework", "python", "--owner", "team"))
    alice = token(["publisher", "approver"], owner=f"alice-{unique}")
    bob = token(["approver"], owner=f"bob-{unique}")
    pushed = json.loads(ok(cli("push", str(model_dir(tmp_path)), "--model", name, "--version", "1.0.0", *CARD, "--json", key=alice)))
    assert pushed["version"] == "1.0.0" and pushed["status"] == "registered"
    assert (tmp_path / "model" / "modelport.json").is_file()
    human = ok(cli("push", str(model_dir(tmp_path / "b", 1.0)), "-m", name, *CARD, key=alice))
    assert f"pushed {name} 1.0.1" in human
    listed = json.loads(ok(cli("versions", "list", name, "--json")))
    assert [v["version"] for v in listed] == ["1.0.1", "1.0.0"]
    assert "pending_approval" in ok(cli("submit", name, "1.0.0", key=alice))
    one_error_line(cli("approve", name, "1.0.0", key=alice), "FourEyesViolation", "HTTP 403")
    assert json.loads(ok(cli("approve", name, "1.0.0", "--comment", "ok", "--json", key=bob)))["status"] == "approved"
    ok(cli("submit", name, "1.0.1", key=alice))
    assert "rejected" in ok(cli("reject", name, "1.0.1", "--comment", "worse", key=bob))
    one_error_line(cli("alias", "set", name, "production", "1.0.1", key=alice), "HTTP 409")
    assert "production → 1.0.0" in ok(cli("alias", "set", name, "production", "1.0.0", key=alice))
    shown = json.loads(ok(cli("versions", "show", name, "production", "--json")))
    assert shown["version"] == "1.0.0" and shown["history"][-1]["comment"] == "ok"


def test_keys_and_audit(cli, unique) -> None:
    created = json.loads(ok(cli("keys", "create", "--owner", f"svc-{unique}", "--role", "consumer",
                                "--pattern", "churn*", "--json")))
    token, key_id = created["token"], created["key"]["key_id"]
    assert token.startswith(f"mp_{key_id}_")
    listed = ok(cli("keys", "list"))
    assert key_id in listed and token.split("_", 2)[2] not in listed
    ok(cli("models", "list", key=token))
    me = json.loads(ok(cli("whoami", "--json", key=token)))
    assert me["key"]["key_id"] == key_id and me["key"]["patterns"] == ["churn*"]
    assert {p["action"] for p in me["permissions"] if p["allowed"]} == {"read", "invoke"}
    assert f"key {key_id} of svc-{unique}" in ok(cli("whoami", key=token)).replace("\n", " ")
    assert json.loads(ok(cli("keys", "revoke", key_id, "--json")))["revoked_at"]
    one_error_line(cli("models", "list", key=token), "Unauthenticated")
    events = json.loads(ok(cli("audit", "list", "platform", "--json")))
    assert {"key.create", "key.revoke"} <= {e["action"] for e in events}
    assert "platform:" in ok(cli("audit", "verify"))
    assert json.loads(ok(cli("audit", "verify", "--json")))["ok"] is True


def test_errors_as_json_are_machine_readable(cli, unique) -> None:
    result = cli("models", "show", f"none-{unique}", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "ModelNotFound"


def test_invoke_with_bad_data_is_refused_before_sending(cli, tmp_path) -> None:
    one_error_line(cli("invoke", "churn", "--data", "{not json"), "not valid JSON")
    one_error_line(cli("invoke", "churn", "--data", f"@{tmp_path}/missing.json"), "cannot read")


def test_local_up_refuses_a_held_state_dir_and_a_busy_port(cli, platform, tmp_path) -> None:
    one_error_line(cli("local", "up", "--state-dir", str(platform.state_dir), "--port", "0"), "is in use by", "pid")
    port = platform.api_url.rsplit(":", 1)[1]
    one_error_line(cli("local", "up", "--state-dir", str(tmp_path / "other"), "--port", port), f"port {port}", "already in use")


@pytest.mark.parametrize("strategy", ["canary:200%:5s", "sideways"])
def test_deploy_settings_are_checked_before_sending(cli, strategy) -> None:
    one_error_line(cli("deploy", "churn", "1.0.0", "--strategy", strategy), "InvalidInput")


@pytest.mark.parametrize(("strategy", "limit"), [("canary:60%:5s", "at most 50%"), ("linear:5%:5s", "10-50%"),
                                               ("linear:10%:3600s", "28800 s")])
def test_deploy_strategies_past_sagemakers_limits_name_the_limit(cli, strategy, limit) -> None:
    one_error_line(cli("deploy", "churn", "1.0.0", "--strategy", strategy), "InvalidInput", limit)


def test_admin_bootstrap_creates_the_first_key_once(cli, platform, unique) -> None:
    """Against the embedded AWS: a stack whose outputs name fresh tables, then the platform's own."""
    import boto3

    from functions.adapters.schema import create_tables

    aws = {"endpoint_url": platform.aws_url, "region_name": "us-east-1", **platform.cloud.aws.credentials.boto3()}
    create_tables(boto3.client("dynamodb", **aws), table_name=f"boot-{unique}", audit_table_name=f"boot-audit-{unique}")
    cloudformation = boto3.client("cloudformation", **aws)

    def stack(name: str, table: str, audit: str) -> None:
        template = {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {k: {"Value": v} for k, v in {"Stage": "local", "TableName": table, "AuditTableName": audit,
                                                    "ArtifactsBucketName": platform.names.artifacts_bucket}.items()},
        }
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))

    stack(f"fresh-{unique}", f"boot-{unique}", f"boot-audit-{unique}")
    # as `modelport local aws-env` shows them
    env = {"AWS_ENDPOINT_URL": platform.aws_url, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": platform.cloud.aws.credentials.access_key_id,
           "AWS_SECRET_ACCESS_KEY": platform.cloud.aws.credentials.secret_access_key}
    created = json.loads(ok(cli("admin", "bootstrap", "--stack", f"fresh-{unique}", "--owner", "ops", "--json", env=env)))
    assert created["key"]["roles"] == ["admin"] and created["token"].startswith("mp_")
    one_error_line(cli("admin", "bootstrap", "--stack", f"fresh-{unique}", env=env), "BootstrapRefused")
    stack(f"used-{unique}", platform.names.table, platform.names.audit_table)
    one_error_line(cli("admin", "bootstrap", "--stack", f"used-{unique}", env=env), "already has API keys")
    one_error_line(cli("admin", "bootstrap", "--stack", f"none-{unique}", env=env), "bootstrap failed")


def test_invoke_proba_asks_for_class_probabilities() -> None:
    from modelport.cli.operations import with_proba
    from modelport.client import ModelportError

    split = {"dataframe_split": {"columns": ["island", "bill_length_mm"], "data": [["Dream", 46.5]]}}
    assert json.loads(with_proba(json.dumps(split).encode())) == {
        **split, "params": {"predict_method": "predict_proba"}}
    assert json.loads(with_proba(b'[["Dream", 46.5]]')) == {
        "instances": [["Dream", 46.5]], "params": {"predict_method": "predict_proba"}}
    with pytest.raises(ModelportError, match="an OIP response carries one proba_<class> output"):
        with_proba(b'{"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}')


def test_local_aws_env_shows_the_running_embedded_aws_key(cli, platform, tmp_path) -> None:
    """Issue 10: every request to the embedded AWS needs the run's key; it is shown on request."""
    import boto3

    shown = ok(cli("local", "aws-env", "--state-dir", str(platform.settings.state_dir)))
    variables = dict(line.removeprefix("export ").split("=", 1) for line in shown.splitlines())
    assert variables["AWS_ENDPOINT_URL"] == platform.aws_url
    assert variables["AWS_ACCESS_KEY_ID"] == platform.cloud.aws.credentials.access_key_id
    sqs = boto3.client("sqs", endpoint_url=variables["AWS_ENDPOINT_URL"], region_name=variables["AWS_DEFAULT_REGION"],
                       aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"])
    assert any(url.endswith("modelport-local-datasets") for url in sqs.list_queues()["QueueUrls"])
    as_json = json.loads(ok(cli("local", "aws-env", "--state-dir", str(platform.settings.state_dir), "--json")))
    assert as_json == variables
    one_error_line(cli("local", "aws-env", "--state-dir", str(tmp_path / "nothing")), "no embedded AWS is running")
