"""`modelport local up` (the platform on this machine, in the foreground) and `modelport demo`."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from modelport.cli.common import JsonOpt, command, console, fail, print_json

local = typer.Typer(help="Run the whole platform on this machine.", no_args_is_help=True)

StateDirOpt = Annotated[Path | None, typer.Option(help="where state lives (default .modelport/local)")]
PortOpt = Annotated[int | None, typer.Option("--port", help="API port (default 7070; 0 picks a free one)")]
AwsPortOpt = Annotated[int | None, typer.Option(help="embedded AWS port (default: a free one)")]


def register(app: typer.Typer) -> None:
    app.add_typer(local, name="local")
    command(app, "demo")(demo)


def platform_settings(state_dir: Path | None, port: int | None, aws_port: int | None, **extra: Any) -> Any:
    from modelport.local.platform import PlatformSettings

    given = {"state_dir": state_dir, "gateway_port": port, "aws_port": aws_port, **extra}
    return PlatformSettings(**{k: v for k, v in given.items() if v is not None})


def start_platform(settings: Any) -> Any:
    """Start, turning the expected start-up failures into one clear line."""
    from modelport.local.gateway import GatewayPortInUse
    from modelport.local.platform import Platform, StateDirInUse
    from modelport.local.wsgi import PortInUse

    try:
        return Platform(settings).start()
    except (GatewayPortInUse, PortInUse, StateDirInUse) as exc:
        fail(str(exc), code=type(exc).__name__)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def banner(platform: Any, log_file: Path) -> None:
    created = "created now" if platform.admin_key_created else "kept from the first start"
    console.print(f"[bold green]Modelport local is up[/bold green] (ready in {platform.ready_s:.1f} s)")
    console.print(f"  [bold]API[/bold]        {platform.api_url}")
    console.print(f"  [bold]console[/bold]    {platform.console_url}  (sign in with a key)")
    console.print(f"  [bold]admin key[/bold]  {platform.admin_key}  ({created})", soft_wrap=True)
    console.print(f"  [bold]state[/bold]      {platform.state_dir}")
    console.print(f"  [bold]AWS[/bold]        {platform.aws_url} (embedded: moto + local SageMaker; "
                  "its key: `modelport local aws-env`)")
    console.print(f"  [bold]log[/bold]        {log_file.resolve()} (everything; here: one line per event)")
    console.print(f"Use it: modelport login --url {platform.api_url} --key <admin key>", soft_wrap=True)
    for line in _recovered(platform):
        console.print(f"  [yellow]recovered[/yellow]  {line}", soft_wrap=True)
    console.print("Ctrl-C stops everything.")


def _recovered(platform: Any) -> list[str]:
    """What this start recovered from a crash of the last run (records and processes;
    endpoints are reconciled in the background, see <state>/recovery.json)."""
    return platform.recovery.report.lines() if platform.recovery is not None else []


def _announce_workflows(platform: Any, as_json: bool) -> None:
    from modelport.local import logs

    ready = platform.wait_for_workflows()
    if not as_json:
        if ready:
            console.print(f"[green]workflows ready[/green] (deploy and retrain state machines, "
                          f"{platform.workflows_ready_s:.1f} s); events appear below")
        else:
            console.print(f"[red]the workflows could not be created; see {platform.state_dir / logs.LOG_FILE}[/red]")
    platform.warmed.wait()
    logs.adopt_powertools()


@command(local, "up")
def up(state_dir: StateDirOpt = None, port: PortOpt = None, aws_port: AwsPortOpt = None,
       authorizer_ttl: Annotated[float | None, typer.Option(help="authorizer cache TTL in seconds")] = None,
       as_json: JsonOpt = False) -> None:
    """Start the platform in the foreground; Ctrl-C stops everything it started."""
    from modelport.local import logs

    settings = platform_settings(state_dir, port, aws_port, authorizer_ttl_s=authorizer_ttl)
    # one line per platform event on the terminal; the embedded AWS's internals to the file
    log_file = logs.configure(settings.state_dir)
    platform = start_platform(settings)
    try:
        if as_json:
            print_json({"api_url": platform.api_url, "console_url": platform.console_url, "aws_url": platform.aws_url,
                        "admin_key": platform.admin_key,
                        "admin_key_created": platform.admin_key_created, "state_dir": str(platform.state_dir),
                        "ready_s": round(platform.ready_s, 3), "recovered": _recovered(platform)})
        else:
            banner(platform, log_file)
        threading.Thread(target=_announce_workflows, args=(platform, as_json), daemon=True).start()
        wait_for_interrupt()
    finally:
        platform.stop()
    if not as_json:
        console.print("stopped; state kept in " + str(platform.state_dir))


@command(local, "aws-env")
def aws_env(state_dir: StateDirOpt = None, as_json: JsonOpt = False) -> None:
    """The running embedded AWS's endpoint and key, for the AWS CLI or boto3: `eval "$(modelport local aws-env)"`.

    Every request to the embedded AWS must be signed with this key (a new one each start).
    """
    from modelport.local.aws import credentials

    directory = state_dir or platform_settings(None, None, None).state_dir
    found = credentials.read(directory)
    if found is None:
        fail(f"no embedded AWS is running with state in {directory} (start `modelport local up`)",
             code="NotRunning")
    variables = credentials.environment(found)
    if as_json:
        return print_json(variables)
    for name, value in variables.items():
        print(f"export {name}={value}")


def demo(
    exit_at_end: Annotated[bool, typer.Option("--exit", help="stop at the end; exit 0 only if every step succeeded")] = False,
    state_dir: Annotated[Path | None, typer.Option(help="state directory (default: a fresh temporary one)")] = None,
    port: PortOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The whole story on a freshly started local platform, each step printed."""
    from modelport.demo import run_demo

    ok = run_demo(state_dir=state_dir, port=port, keep_running=not exit_at_end, as_json=as_json)
    if not ok:
        raise typer.Exit(1)
