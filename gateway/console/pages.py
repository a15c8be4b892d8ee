"""The console's pages around the grid: the layout, the sign-in page and the day page with its
navigation and forms (walk-in, block time)."""

from __future__ import annotations

from string import Template

from gateway.console.day import Day
from gateway.console.grid import grid, hidden
from gateway.console.markup import Markup, options, render

LAYOUT = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title><link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script></head>
<body>$body</body></html>""")
LOGIN = Template("""<main class="login"><h1>$clinic</h1><p>Staff console: sign in.</p>$error
<form method="post" action="$base/login">
<input type="hidden" name="csrf" value="$csrf">
<label>Email <input type="email" name="email" autocomplete="username" required autofocus value="$email"></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></main>""")
ERROR = Template('<p class="error" role="alert">$text</p>')
NOTICE = Template('<p class="notice" role="status">$text</p>')
DAY = Template("""<header><h1>$clinic</h1>
<form method="post" action="$base/logout" class="logout">$hidden<span>$email</span>
<button type="submit">Sign out</button></form></header>
<nav aria-label="Days"><a href="$base/?date=$prev_week">‹‹ Week</a> <a href="$base/?date=$prev" rel="prev">‹ Day</a>
<form method="get" action="$base/" class="goto"><label>Day <input type="date" name="date" value="$date"></label>
<button type="submit">Show</button></form>
<a href="$base/?date=$next" rel="next">Day ›</a> <a href="$base/?date=$next_week">Week ››</a>
<a href="$base/">Today</a></nav>
<main><h2 class="date">$heading <small>($zone)</small></h2>$notice
<p id="live" role="status" aria-live="polite"></p>
<div id="grid" class="grid" data-src="$base/grid?date=$date" data-events="$base/events">$grid</div>
<section class="forms" aria-label="New">
<form method="post" action="$base/book" class="book"><h2>Book a walk-in</h2>$hidden
<label>Provider <select name="provider" required>$providers</select></label>
<label>Service <select name="service" required>$services</select></label>
<label>Date <input type="date" name="date" value="$date" required></label>
<label>Time <input type="time" name="time" step="300" required></label>
<label>Patient name <input name="name" maxlength="200" required></label>
<label>Phone (optional) <input type="tel" name="phone" maxlength="32"></label>
<label>Reason <input name="reason" maxlength="200" value="walk-in"></label>
<button type="submit">Book</button></form>
<form method="post" action="$base/block" class="block"><h2>Block time</h2>$hidden
<label>Provider <select name="provider" required>$providers</select></label>
<label>Date <input type="date" name="date" value="$date" required></label>
<label>From <input type="time" name="start" step="300" required></label>
<label>To <input type="time" name="end" step="300" required></label>
<label>Reason <input name="reason" maxlength="200" required></label>
<button type="submit">Block</button></form></section></main>""")


def page(title: str, body: Markup) -> str:
    return render(LAYOUT, title=title, body=body)


def login_page(clinic: str, base: str, csrf: str, email: str = "", error: str = "") -> str:
    message = render(ERROR, text=error) if error else Markup("")
    body = render(LOGIN, clinic=clinic, base=base, csrf=csrf, email=email, error=message)
    return page(f"Sign in · {clinic}", body)


def day_page(
    clinic: str, base: str, day: Day, email: str, csrf: str, nonce: str, services: list[tuple[str, str]], notice: str
) -> str:
    providers = [(c.provider_id, c.name) for c in day.columns]
    body = render(
        DAY, clinic=clinic, base=base, email=email, hidden=hidden(csrf, nonce, day.date.isoformat()),
        prev_week=day.week(-1).isoformat(), prev=day.previous.isoformat(), next=day.next.isoformat(),
        next_week=day.week(1).isoformat(), date=day.date.isoformat(), heading=f"{day.date:%A, %B} {day.date.day}, "
        f"{day.date.year}", zone=day.zone.key, notice=render(NOTICE, text=notice) if notice else Markup(""),
        grid=grid(day, base, csrf, nonce), providers=options(providers), services=options(services),
    )  # fmt: skip
    return page(f"{day.date.isoformat()} · {clinic}", body)
