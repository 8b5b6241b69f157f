"""The embedded AWS's key pair: new for every run, required on every request.

AWS refuses requests that are not signed with a key it knows; moto accepts any. Each run
of local mode (each `EmbeddedAWS`) makes a fresh key pair (`Credentials.new`): the platform's own clients
(in-process handlers, moto's Step Functions interpreter, the local SageMaker, the event
source) sign with it, and it is written to `<state>/aws-credentials.json` (0600, removed at
stop) so that `modelport local aws-env` can show it to someone who wants the AWS CLI
against the embedded AWS. Presigned URLs stay valid until their expiry or the end of the run.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.local.statefiles import read_json, write_json_atomic

FILE = "aws-credentials.json"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)

    @classmethod
    def new(cls) -> Credentials:
        # the shape of an AWS access key id (20 upper-case characters), random per run
        return cls("AKIAMPLOCAL" + secrets.token_hex(5).upper()[:9], secrets.token_urlsafe(32))

    def boto3(self) -> dict[str, str]:
        """Keyword arguments for `boto3.client(...)` / `Session(...)`."""
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}


def write(state_dir: Path, credentials: Credentials, url: str, region: str) -> Path:
    """Keep the running embedded AWS's key where `modelport local aws-env` finds it (0600)."""
    path = state_dir / FILE
    write_json_atomic(path, {"endpoint_url": url, "region": region, **credentials.boto3()})
    os.chmod(path, 0o600)
    return path


def read(state_dir: Path) -> dict[str, Any] | None:
    """The running embedded AWS's endpoint, region and key, or None when none runs there."""
    found = read_json(state_dir / FILE)
    return found if isinstance(found, dict) and found.get("aws_secret_access_key") else None


def remove(state_dir: Path) -> None:
    (state_dir / FILE).unlink(missing_ok=True)


def environment(found: dict[str, Any]) -> dict[str, str]:
    """The AWS CLI's / boto3's environment variables for a running embedded AWS."""
    return {
        "AWS_ENDPOINT_URL": found["endpoint_url"], "AWS_DEFAULT_REGION": found["region"],
        "AWS_ACCESS_KEY_ID": found["aws_access_key_id"], "AWS_SECRET_ACCESS_KEY": found["aws_secret_access_key"],
    }
