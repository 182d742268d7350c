"""The command line: `serve`, `triage`, `export-case`, `drift`, `check-config`,
`migrate-store`.

The console script `triage-bot` and `python -m bot` land here. Each command is a
`Command` in `COMMANDS` (its arguments and its runner), so a new subcommand is one entry.
Every failure a user can cause ends with one line on stderr and an exit status: 2 for
the configuration or the input, 1 for a runtime failure; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.field_errors import first_error

log = logging.getLogger("bot")


def _fail(message: str, code: int = 2) -> int:
    print(f"triage-bot: {' '.join(message.split())}", file=sys.stderr)
    return code


def _settings(args: argparse.Namespace) -> Settings:
    """The settings, with the values a command's flags give (`--data-dir`, ...)."""
    overrides = {
        name: getattr(args, name)
        for name in ("data_dir", "prometheus_url")
        if getattr(args, name, None)
    }
    return load_settings(args.config, **overrides)


# --- serve -----------------------------------------------------------------------------


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=_port, default=8080, help="port to listen on")
    parser.add_argument("--config", type=Path, help="YAML configuration file")


def _serve(args: argparse.Namespace) -> int:
    from bot.logs import configure
    from bot.preflight import StartupError
    from bot.serve import serve

    settings = _settings(args)
    configure(settings.log_format, settings.log_level)
    try:
        asyncio.run(serve(settings, args.host, args.port))
    except StartupError as exc:
        log.error(str(exc))
        return exc.code
    except ConfigError as exc:
        log.error(str(exc))
        return 2
    except KeyboardInterrupt:  # before the signal handlers were installed
        log.info("interrupted during start-up")
        return 130
    except Exception as exc:  # one line for the operator; the cause is in the exception
        log.error(f"stopped on an unexpected error: {type(exc).__name__}: {exc}")
        return 1
    return 0


# --- triage ----------------------------------------------------------------------------


def _triage_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("payload", type=Path, help="an Alertmanager webhook body (JSON)")
    parser.add_argument("--kubeconfig", type=Path, help="kubeconfig of the cluster to inspect")
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--json", action="store_true", help="print the triage as JSON")
    parser.add_argument(
        "--data-dir", type=Path, help="a service's data dir: drift history is read from its store"
    )
    parser.add_argument(
        "--prometheus-url", help="Prometheus to query: the alert's expression and drift series"
    )


def _triage(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.config_names import setting_name
    from bot.model.alert import Notification
    from bot.offline import triage_offline
    from bot.preflight import kubeconfig_problem

    settings = _settings(args)
    flag = args.kubeconfig
    if flag is not None:
        problem = kubeconfig_problem(flag)
        if problem:
            return _fail(f"--kubeconfig: {problem}")
        settings = settings.model_copy(update={"kubeconfig": flag})
    elif settings.kubeconfig is not None:
        problem = kubeconfig_problem(settings.kubeconfig)
        if problem:
            return _fail(f"{setting_name('kubeconfig')}: {problem}")
    try:
        notification = Notification.model_validate_json(args.payload.read_bytes())
    except OSError as exc:
        return _fail(f"cannot read {args.payload}: {exc.strerror or exc}")
    except ValidationError as exc:
        return _fail(f"{args.payload}: {first_error(exc, '(body)')} (expected a webhook body)")
    try:
        report = asyncio.run(triage_offline(settings, notification))
    except ConfigError as exc:
        return _fail(f"--kubeconfig: {exc}" if flag is not None else str(exc))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        from bot.notify.text import render_text

        print(render_text(report))
    return 0


# --- export-case -----------------------------------------------------------------------


def _export_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("group", help="the group key, or its short id as Slack's buttons carry it")
    parser.add_argument("--data-dir", type=Path, help="the service's data dir (its store)")
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument(
        "--expect", default="", help="CATEGORY[/CAUSE] when the diagnosis was wrong or unmarked"
    )


def _export_case(args: argparse.Namespace) -> int:
    import yaml

    from bot.export_case import ExportError, export_case, feedback, stored_report

    settings = _settings(args)
    if settings.database_url is not None and args.data_dir is None:
        # The service's triages are in PostgreSQL then: the data dir holds no store to read.
        return _fail(
            "export-case reads a SQLite store; TRIAGE_BOT_DATABASE_URL is set and the"
            " PostgreSQL store is not read by export-case yet: give --data-dir of a SQLite"
            " installation, or unset TRIAGE_BOT_DATABASE_URL"
        )
    try:
        report = stored_report(settings.database_path, args.group)
        case = export_case(report, feedback(settings.database_path, report), args.expect)
    except ExportError as exc:
        return _fail(str(exc))
    print(yaml.safe_dump(case, sort_keys=False, allow_unicode=True), end="")
    return 0


# --- drift -----------------------------------------------------------------------------


def _drift_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reference", type=Path, help="reference CSV with a header row")
    parser.add_argument("production", type=Path, help="production CSV with a header row")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--alpha", type=float, default=0.05, help="family-wise significance")


def _drift(args: argparse.Namespace) -> int:
    from bot.drift.command import run_drift_command

    return run_drift_command(
        args.reference,
        args.production,
        alpha=args.alpha,
        as_json=args.json,
        out=sys.stdout,
        err=sys.stderr,
    )


# --- check-config ----------------------------------------------------------------------


def _check_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML configuration file")


def _check_config(args: argparse.Namespace) -> int:
    from bot.integrations import ignored_variables, integrations
    from bot.preflight import StartupError, preflight

    settings = _settings(args)
    try:
        asyncio.run(preflight(settings))
    except StartupError as exc:
        return _fail(str(exc), exc.code)
    source = f"file {args.config} and environment" if args.config else "environment"
    print(f"configuration OK ({source}): serve would start with")
    for name, state in integrations(settings).items():
        print(f"  {name}: {state}")
    for warning in ignored_variables():
        print(f"  warning: {warning}")
    return 0


# --- the parser ------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A subcommand: its help line, its arguments and what runs it (returns the status)."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {
    "serve": Command("run the service", _serve_args, _serve),
    "triage": Command("triage one saved webhook body, offline", _triage_args, _triage),
    "export-case": Command(
        "write a stored triage as an incident-corpus case", _export_args, _export_case
    ),
    "drift": Command("compare two CSV samples for drift", _drift_args, _drift),
    "check-config": Command(
        "run the start-up checks of serve and exit", _check_args, _check_config
    ),
    "migrate-store": Command(
        "copy a SQLite store into an empty PostgreSQL store",
        lambda parser: _migrate_store().arguments(parser),
        lambda args: _migrate_store().run(args),
    ),
}


def _migrate_store() -> ModuleType:
    from bot.store.postgres import copy  # asyncpg only for this command

    return copy


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triage-bot",
        description="Triage failing ML models between Alertmanager and Slack.",
    )
    parser.add_argument("--version", action="version", version=f"triage-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        command.arguments(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command].run(args)
    except ConfigError as exc:
        return _fail(str(exc))
