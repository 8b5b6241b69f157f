"""Where the SDK and the CLI find the API: `MODELPORT_URL` / `MODELPORT_API_KEY`, else the
file `modelport login` wrote (`~/.config/modelport/config.json`, mode 0600).

`UserSettings` is the user side's one pydantic-settings class; environment variables win
over the file so scripts and CI can point one command elsewhere without logging in.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from modelport.client.errors import ConfigurationError

CONFIG_FILE = "config.json"


class UserSettings(BaseSettings):
    """Read from `MODELPORT_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MODELPORT_", extra="ignore")

    #: base URL of the API, e.g. `http://127.0.0.1:8080` or the API Gateway stage URL.
    url: str | None = None
    #: an API key token (`mp_<id>_<secret>`); never printed.
    api_key: SecretStr | None = None
    #: where `modelport login` keeps its file.
    config_dir: Path = Field(default_factory=lambda: Path.home() / ".config" / "modelport")
    #: seconds before one HTTP request gives up.
    timeout_s: float = Field(default=30.0, gt=0)
    #: retries of a request answered 429/5xx (or not reached), with exponential backoff.
    max_retries: int = Field(default=3, ge=0, le=10)


class Profile(BaseModel):
    """What `modelport login` stores."""

    url: str
    api_key: SecretStr


def config_path(settings: UserSettings) -> Path:
    return settings.config_dir.expanduser() / CONFIG_FILE


def load_profile(settings: UserSettings) -> Profile | None:
    path = config_path(settings)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}; run `modelport login` again") from None
    try:
        return Profile.model_validate(raw)
    except ValueError:
        raise ConfigurationError(f"{path} is not a Modelport login file; run `modelport login` again") from None


def save_profile(settings: UserSettings, profile: Profile) -> Path:
    """Write the login file atomically, readable by its owner only (0600, directory 0700)."""
    path = config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = {"url": profile.url, "api_key": profile.api_key.get_secret_value()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def resolve(settings: UserSettings | None = None) -> tuple[str, SecretStr]:
    """The URL and key to use: environment first, then the login file."""
    settings = settings or UserSettings()
    # an empty variable counts as unset, so `MODELPORT_URL= modelport ...` falls back to the file
    url = settings.url or None
    key = settings.api_key if settings.api_key and settings.api_key.get_secret_value() else None
    if url is None or key is None:
        profile = load_profile(settings)
        if profile is not None:
            url = url or profile.url
            key = key or profile.api_key
    if not url:
        raise ConfigurationError("no API URL: run `modelport login --url ... --key ...` or set MODELPORT_URL")
    if key is None or not key.get_secret_value():
        raise ConfigurationError("no API key: run `modelport login --url ... --key ...` or set MODELPORT_API_KEY")
    return url.rstrip("/"), key
