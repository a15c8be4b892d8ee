"""The staff console at /console/{tenant}/ (SPEC §10): sign-in per clinic, a live day view, and
the staff operations of reservation as forms. Server-rendered; one small script
(gateway/static/console.js) keeps the day live through server-sent events."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gateway.console import actions, routes
from gateway.console.access import CONSOLE, Console
from gateway.console.live import LiveSchedule
from gateway.console.sessions import SessionBox
from gateway.state import BACKENDS

STATIC = Path(__file__).resolve().parent.parent / "static"


async def _stop_live(app: web.Application) -> None:
    """Open event streams end at shutdown (else the server would wait for each page to leave)."""
    if CONSOLE in app:
        await app[CONSOLE].live.close()


def add_routes(app: web.Application, session_key: str) -> None:
    """The console's routes; without a session key (CONSOLE_SESSION_KEY unset) there is no console."""
    app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
    if not session_key:
        return
    app[CONSOLE] = Console(SessionBox(session_key), LiveSchedule(lambda: app[BACKENDS].reservation))
    app.on_shutdown.append(_stop_live)
    prefix = "/console/{tenant}"
    app.router.add_get(prefix, routes.to_day)
    app.router.add_get(f"{prefix}/", routes.day)
    app.router.add_get(f"{prefix}/login", routes.login_get)
    app.router.add_post(f"{prefix}/login", routes.login_post)
    app.router.add_post(f"{prefix}/logout", routes.logout)
    app.router.add_get(f"{prefix}/grid", routes.grid_part)
    app.router.add_get(f"{prefix}/events", routes.events)
    app.router.add_post(f"{prefix}/book", actions.book)
    app.router.add_post(f"{prefix}/block", actions.block)
    app.router.add_post(prefix + "/appointments/{id}/cancel", actions.cancel)
    app.router.add_post(prefix + "/appointments/{id}/move", actions.move)
    app.router.add_post(prefix + "/blocks/{id}/unblock", actions.unblock)
