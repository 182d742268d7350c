"""The command line: `serve`, `triage`, `drift`, `check-config`.

The console script `triage-bot` and `python -m bot` land here. Each command loads and
validates the settings first; a configuration error prints the key and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import __version__
from bot.config import ConfigError, Settings, load_settings

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triage-bot",
        description="Triage failing ML models between Alertmanager and Slack.",
    )
    parser.add_argument("--version", action="version", version=f"triage-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")
    serve.add_argument("--config", type=Path, help="YAML configuration file")

    triage = sub.add_parser("triage", help="triage one saved webhook body, offline")
    triage.add_argument("payload", type=Path, help="an Alertmanager webhook body (JSON)")
    triage.add_argument("--kubeconfig", type=Path, help="kubeconfig of the cluster to inspect")
    triage.add_argument("--config", type=Path, help="YAML configuration file")
    triage.add_argument("--json", action="store_true", help="print the triage as JSON")
    triage.add_argument(
        "--data-dir", type=Path, help="a service's data dir: drift history is read from its store"
    )
    triage.add_argument(
        "--prometheus-url", help="Prometheus to query: the alert's expression and drift series"
    )

    export = sub.add_parser("export-case", help="write a stored triage as an incident-corpus case")
    export.add_argument("group", help="the group key, or its short id as Slack's buttons carry it")
    export.add_argument("--data-dir", type=Path, help="the service's data dir (its store)")
    export.add_argument("--config", type=Path, help="YAML configuration file")
    export.add_argument(
        "--expect", default="", help="CATEGORY[/CAUSE] when the diagnosis was wrong or unmarked"
    )

    drift = sub.add_parser("drift", help="compare two CSV samples for drift")
    drift.add_argument("reference", type=Path, help="reference CSV with a header row")
    drift.add_argument("production", type=Path, help="production CSV with a header row")
    drift.add_argument("--json", action="store_true", help="print the result as JSON")
    drift.add_argument("--alpha", type=float, default=0.05, help="family-wise significance")

    check = sub.add_parser("check-config", help="validate the configuration and exit")
    check.add_argument("--config", type=Path, help="YAML configuration file")
    return parser


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from bot.app import create_app
    from bot.logs import configure

    problem = _api_problem(settings)
    if problem is not None:
        print(f"triage-bot: {problem}", file=sys.stderr)
        return 2
    configure(settings.log_format, settings.log_level)
    if settings.api.public:
        log.warning("api.public is true: /api/* answers anyone who can reach the port")
    if settings.webhook_token is None:
        log.warning(
            "TRIAGE_BOT_WEBHOOK_TOKEN is not set: /alertmanager accepts unauthenticated posts"
        )
    log.info(
        "starting",
        extra={
            "host": args.host,
            "port": args.port,
            "data_dir": str(settings.data_dir),
            "cluster": settings.cluster_configured,
            "slack": settings.slack_bot_token is not None,
        },
    )
    web.run_app(
        create_app(settings),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
        shutdown_timeout=settings.shutdown_timeout_seconds,
    )
    return 0


def _triage(args: argparse.Namespace, settings: Settings) -> int:
    from pydantic import ValidationError

    from bot.alerts.models import Notification
    from bot.offline import triage_offline

    try:
        notification = Notification.model_validate_json(args.payload.read_bytes())
    except OSError as exc:
        print(f"triage-bot: cannot read {args.payload}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(body)"
        print(f"triage-bot: {args.payload}: {where}: {first['msg']}", file=sys.stderr)
        return 2
    report = asyncio.run(triage_offline(settings, notification))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        from bot.notify.text import render_text

        print(render_text(report))
    return 0


def _export_case(args: argparse.Namespace, settings: Settings) -> int:
    import yaml

    from bot.export_case import ExportError, export_case, feedback, stored_report

    try:
        report = stored_report(settings.database_path, args.group)
        case = export_case(report, feedback(settings.database_path, report), args.expect)
    except ExportError as exc:
        print(f"triage-bot: {exc}", file=sys.stderr)
        return 2
    print(yaml.safe_dump(case, sort_keys=False, allow_unicode=True), end="")
    return 0


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


def _api_problem(settings: Settings) -> str | None:
    from bot.auth import api_exposure_problem

    token = settings.api_token.get_secret_value() if settings.api_token else None
    return api_exposure_problem(token, settings.api.public)


def _check_config(args: argparse.Namespace, settings: Settings) -> int:
    problem = _api_problem(settings)
    if problem is not None:
        print(f"triage-bot: {problem}", file=sys.stderr)
        return 2
    source = str(args.config) if args.config else "environment"
    print(f"configuration OK ({source})")
    print(f"  data dir: {settings.data_dir}")
    print(f"  webhook auth: {'bearer token' if settings.webhook_token else 'NONE (warning)'}")
    print(f"  api auth: {'bearer token' if settings.api_token else 'NONE (api.public: true)'}")
    print(f"  cluster: {'configured' if settings.cluster_configured else 'not configured'}")
    print(f"  prometheus: {settings.prometheus_url or 'not configured'}")
    print(f"  slack: {'bot token set' if settings.slack_bot_token else 'console output'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "drift":
        return _drift(args)
    overrides: dict[str, Any] = {}
    if getattr(args, "kubeconfig", None):
        overrides["kubeconfig"] = args.kubeconfig
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    if getattr(args, "prometheus_url", None):
        overrides["prometheus_url"] = args.prometheus_url
    try:
        settings = load_settings(args.config, **overrides)
    except ConfigError as exc:
        print(f"triage-bot: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "triage":
        return _triage(args, settings)
    if args.command == "export-case":
        return _export_case(args, settings)
    return _check_config(args, settings)
