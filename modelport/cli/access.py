"""`login`, `keys ...`, `audit ...` and `admin bootstrap`."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import SecretStr

from modelport.cli.common import JsonOpt, client, command, console, err, print_json, table, when
from modelport.client import Client, ModelportError
from modelport.client.config import Profile, UserSettings, save_profile

keys = typer.Typer(help="Create, list and revoke API keys (admin).", no_args_is_help=True)
audit = typer.Typer(help="Read and verify the tamper-evident audit log.", no_args_is_help=True)
admin = typer.Typer(help="Operate a deployment on AWS.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    command(app, "login")(login)
    command(app, "whoami")(whoami)
    app.add_typer(keys, name="keys")
    app.add_typer(audit, name="audit")
    app.add_typer(admin, name="admin")


def masked(token: str) -> str:
    """`mp_<key id>_…`: enough to tell keys apart, never the secret."""
    parts = token.split("_")
    return f"mp_{parts[1]}_…" if len(parts) >= 3 and parts[0] == "mp" else "…"


def login(
    url: Annotated[str, typer.Option(help="API URL, e.g. http://127.0.0.1:7070")],
    key: Annotated[str | None, typer.Option(help="API key (prompted, hidden, when left out)")] = None,
    check: Annotated[bool, typer.Option("--check/--no-check", help="verify the key against the API first")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Store the API URL and key in ~/.config/modelport (mode 0600)."""
    token = key or typer.prompt("API key", hide_input=True)
    settings = UserSettings()
    if check:
        with Client(url, token, settings=settings, max_retries=1) as api:
            api.models.page(limit=1)
    path = save_profile(settings, Profile(url=url.rstrip("/"), api_key=SecretStr(token)))
    if as_json:
        return print_json({"url": url.rstrip("/"), "key": masked(token), "config": str(path)})
    console.print(f"[green]logged in[/green] to {url} with key {masked(token)} (saved in {path})")


def whoami(as_json: JsonOpt = False) -> None:
    """Show the signed-in key: owner, roles, model patterns and what they allow."""
    with client() as api:
        me = api.keys.whoami()
    if as_json:
        return print_json(me)
    key = me.key
    console.print(f"key [bold]{key.key_id}[/bold] of {key.owner}: roles {', '.join(key.roles)}; "
                  f"models {', '.join(key.patterns)}; expires {when(key.expires_at) or 'never'}")
    allowed = [p.action for p in me.permissions if p.allowed]
    denied = [p.action for p in me.permissions if not p.allowed]
    console.print(f"may: {', '.join(allowed)}" + (f"; may not: {', '.join(denied)}" if denied else ""))


# -- keys ---------------------------------------------------------------------------------
@command(keys, "create")
def create_key(
    owner: Annotated[str, typer.Option(help="the person or service holding the key")],
    role: Annotated[list[str], typer.Option("--role", help="admin, publisher, approver or consumer (repeatable)")],
    pattern: Annotated[list[str] | None, typer.Option("--pattern", help="model pattern, e.g. churn* (repeatable)")] = None,
    description: Annotated[str, typer.Option()] = "",
    expires_in_days: Annotated[int | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; its token is shown this once."""
    body = {"owner": owner, "roles": role, "patterns": pattern or ["*"], "description": description,
            "expires_in_days": expires_in_days}
    with client() as api:
        created = api.keys.create({k: v for k, v in body.items() if v is not None})
    if as_json:
        return print_json({"key": created.key, "token": created.token})
    info = created.key
    console.print(f"[green]created[/green] key [bold]{info.key_id}[/bold] for {info.owner} "
                  f"(roles {', '.join(info.roles)}; models {', '.join(info.patterns)})")
    if created.token:
        console.print("token (shown once, store it now):")
        console.print(created.token, soft_wrap=True)


@command(keys, "list")
def list_keys(
    owner: Annotated[str | None, typer.Option(help="only this owner's keys")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List API keys (never their secrets), by owner; last use is sampled hourly."""
    with client() as api:
        found = list(api.keys.list(owner=owner))
    if as_json:
        return print_json(found)
    table("keys", ["key id", "owner", "roles", "patterns", "created", "expires", "revoked", "last used", "rotated to"],
          [[k.key_id, k.owner, ",".join(k.roles), ",".join(k.patterns), when(k.created_at),
            when(k.expires_at), when(k.revoked_at), when(k.last_used_at), k.rotated_to] for k in found])


@command(keys, "rotate")
def rotate_key(
    key_id: str,
    grace_hours: Annotated[int, typer.Option("--grace-hours", help="how long the old key keeps working (0 to 720)")],
    description: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rotate a key: a successor with the same roles and patterns; the old one expires after the grace period."""
    with client() as api:
        rotated = api.keys.rotate(key_id, grace_period_hours=grace_hours, description=description)
    if as_json:
        return print_json({"key": rotated.key, "token": rotated.token, "previous": rotated.previous})
    console.print(f"[green]rotated[/green] key [bold]{key_id}[/bold] → [bold]{rotated.key.key_id}[/bold] "
                  f"({rotated.key.owner}); {key_id} expires {when(rotated.previous.expires_at)}")
    if rotated.token:
        console.print("token (shown once, store it now):")
        console.print(rotated.token, soft_wrap=True)


@command(keys, "revoke")
def revoke_key(key_id: str, as_json: JsonOpt = False) -> None:
    """Revoke an API key."""
    with client() as api:
        info = api.keys.revoke(key_id)
    if as_json:
        return print_json(info)
    console.print(f"[green]revoked[/green] key [bold]{info.key_id}[/bold] ({info.owner})")


# -- audit --------------------------------------------------------------------------------
@command(audit, "list")
def list_audit(
    chain: Annotated[str, typer.Argument(help="a model name, or platform for key events")] = "platform",
    limit: Annotated[int, typer.Option(help="at most this many events, newest first")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List a chain's audit events, newest first."""
    with client() as api:
        events = []
        for event in api.audit.list(chain):
            events.append(event)
            if len(events) >= limit:
                break
    if as_json:
        return print_json(events)
    table(f"audit: {chain}", ["seq", "time", "actor", "action", "target", "hash"],
          [[e.seq, when(e.time), e.actor, e.action, e.target, e.hash[:12]] for e in events])


@command(audit, "due")
def audit_due(
    within: Annotated[int, typer.Option(help="also list what falls due within this many days")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Production versions overdue for revalidation (or due within --within days)."""
    from datetime import UTC, datetime, timedelta

    horizon = datetime.now(UTC) + timedelta(days=within)
    with client() as api:
        found = [m for m in api.models.list() if m.production is not None
                 and (m.revalidation_overdue or m.production.revalidate_by <= horizon)]
    found.sort(key=lambda m: m.production.revalidate_by)
    rows = [{"model": m.name, "version": m.production.version, "risk_tier": m.policy.risk_tier.value,
             "validated_at": m.production.validated_at, "revalidate_by": m.production.revalidate_by,
             "overdue": m.revalidation_overdue} for m in found]
    if as_json:
        return print_json(rows)
    if not rows:
        console.print("nothing is due" + (f" within {within} days" if within else ""))
        return
    table("revalidation due", ["model", "version", "risk", "validated", "revalidate by", ""],
          [[r["model"], r["version"], r["risk_tier"], when(r["validated_at"]), when(r["revalidate_by"]),
            "OVERDUE" if r["overdue"] else "due"] for r in rows])
    console.print("revalidate with `modelport revalidate <model> <version>` (an approver who did not publish it)")


@command(audit, "verify")
def verify_audit(
    chain: Annotated[str | None, typer.Option(help="one chain; all readable chains when left out")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify the hash chains; exits 1 when any event was edited, removed or reordered."""
    with client() as api:
        report = api.audit.verify(chain)
    if as_json:
        print_json(report)
    else:
        for result in report.chains:
            mark = "[green]ok[/green]" if result.ok else f"[red]BROKEN at event {result.first_bad_seq}: {result.reason}[/red]"
            console.print(f"{result.chain}: {result.events} events {mark}")
    if not report.ok:
        if not as_json:
            err.print("[bold red]error:[/bold red] [red]the audit log does not verify[/red]")
        raise typer.Exit(1)


# -- admin --------------------------------------------------------------------------------
@command(admin, "bootstrap")
def bootstrap(
    stack: Annotated[str, typer.Option(help="the deployed Api stack's name")],
    owner: Annotated[str, typer.Option(help="recorded as the key's owner")] = "admin",
    region: Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration)")] = None,
    recover: Annotated[bool, typer.Option(
        "--recover", help="issue a new admin key to a deployment where no admin key works (audited)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a deployment's first admin key with your AWS credentials (once), or with
    --recover a new one when no admin key works any more."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from modelport.admin import bootstrap as run_bootstrap
    from modelport.admin import recover as run_recover

    run = run_recover if recover else run_bootstrap
    try:
        created = run(boto3.session.Session(region_name=region), stack, owner=owner)
    except (BotoCoreError, ClientError, ValueError) as exc:
        raise ModelportError(f"bootstrap failed: {exc}", code=type(exc).__name__) from None
    except Exception as exc:
        if hasattr(exc, "code") and hasattr(exc, "message"):  # a core DomainError (BootstrapRefused)
            raise ModelportError(exc.message, code=exc.code) from None
        raise
    if as_json:
        return print_json({"key": created.info, "token": created.token})
    verb = "recovered: new" if recover else "created"
    console.print(f"[green]{verb}[/green] admin key [bold]{created.info.key_id}[/bold] for {created.info.owner}")
    console.print("token (shown once, store it now):")
    console.print(created.token, soft_wrap=True)
