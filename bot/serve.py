"""`triage-bot serve`: the start-up checks, the app on its socket, a logged shutdown.

Called by `cli`. Used instead of aiohttp's `run_app` so that every way start-up can fail
(a check, the app's start-up contexts, a port already taken) closes what was opened and
surfaces as one exception for `cli` to print as one line: a pod that cannot start exits
and says why, instead of staying Running and never Ready. SIGTERM and SIGINT stop it.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot.config import Settings
from bot.integrations import ignored_variables, integrations
from bot.preflight import RUNTIME, StartupError, preflight

log = logging.getLogger("bot")


async def serve(settings: Settings, host: str, port: int) -> None:
    """Check, start, listen until a stop signal, then shut down in order."""
    log.info("starting", extra={"host": host, "port": port})
    for name, state in integrations(settings).items():  # one line each: read at a glance
        log.info(f"{name}: {state}")
    for warning in ignored_variables():
        log.warning(warning)
    if settings.api.public:
        log.warning("api.public is true: /api/* answers anyone who can reach the port")
    if settings.webhook_token is None:
        log.warning(
            "TRIAGE_BOT_WEBHOOK_TOKEN is not set: /alertmanager accepts unauthenticated posts"
        )
    await preflight(settings)
    from bot.app import create_app  # after the checks: a failed check costs no import

    runner = web.AppRunner(
        create_app(settings),
        handle_signals=False,
        access_log=None,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        # aiohttp closes a connection still waiting for a request's headers when this runs
        # out (it arms it at connect and after each answer): the header-read timeout.
        keepalive_timeout=settings.header_timeout_seconds,
    )
    stop = asyncio.Event()
    received: list[str] = []
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, _on_signal, sig, received, stop)
    try:
        await runner.setup()  # opens the store, clients and workers (app's cleanup_ctx)
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}: stop whatever holds"
                " the port or choose another --port",
                RUNTIME,
            ) from None
        log.info("listening", extra={"url": f"http://{host}:{port}"})
        await stop.wait()
        log.info("shutting down", extra={"signal": received[0] if received else "?"})
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await runner.cleanup()  # also closes what a failed start-up had opened
    log.info("stopped")


def _on_signal(sig: signal.Signals, received: list[str], stop: asyncio.Event) -> None:
    received.append(sig.name)
    stop.set()
