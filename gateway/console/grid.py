"""The day's columns as HTML (the part the page's script swaps when the schedule changes)."""

from __future__ import annotations

from string import Template

from gateway.console.day import Column, Day, Item
from gateway.console.markup import Markup, join, options, render

COLUMN = Template("""<section class="column" aria-labelledby="col-$pid">
<h2 id="col-$pid">$name</h2>
<ol class="items">$items</ol>
</section>""")
EMPTY = Markup('<li class="empty">Nothing booked.</li>')
APPOINTMENT = Template("""<li class="item appointment" data-id="$id">
<p><time>$label</time> <strong class="patient">$title</strong> <span class="service">$detail</span></p>
<details><summary>Change <span class="sr-only">$title at $label</span></summary>
<form method="post" action="$base/appointments/$id/cancel" class="cancel">
$hidden<label>Reason <input name="reason" maxlength="200" required></label>
<button type="submit">Cancel appointment</button></form>
<form method="post" action="$base/appointments/$id/move" class="move">
$hidden<label>Date <input type="date" name="date" value="$date" required></label>
<label>Time <input type="time" name="time" step="300" value="$time" required></label>
<label>Provider <select name="provider">$providers</select></label>
<label>Reason <input name="reason" maxlength="200" required></label>
<button type="submit">Move</button></form>
</details></li>""")
HOLD = Template("""<li class="item hold" data-id="$id">
<p><time>$label</time> <strong class="patient">$title</strong> <span class="service">$detail</span></p>
<p class="left">Held, $left min left</p></li>""")
BLOCK = Template("""<li class="item block" data-id="$id">
<p><time>$label</time> <strong>Blocked</strong> <span class="reason">$title</span> <span class="who">$detail</span></p>
<form method="post" action="$base/blocks/$id/unblock">$hidden<input type="hidden" name="reason" value="freed">
<button type="submit">Free this time <span class="sr-only">($label)</span></button></form></li>""")
HIDDEN = Template("""<input type="hidden" name="csrf" value="$csrf"><input type="hidden" name="nonce" value="$nonce">
<input type="hidden" name="back" value="$back">""")


def hidden(csrf: str, nonce: str, back: str) -> Markup:
    """Every form's token, its idempotency key (a repeated submit does it once) and the day to go back to."""
    return render(HIDDEN, csrf=csrf, nonce=nonce, back=back)


def _item(item: Item, day: Day, base: str, form: Markup, providers: list[tuple[str, str]]) -> Markup:
    common = {"id": item.id, "label": item.label, "title": item.title, "detail": item.detail, "base": base}
    if item.kind == "hold":
        return render(HOLD, left=item.minutes_left, **common)
    if item.kind == "block":
        return render(BLOCK, hidden=form, **common)
    return render(
        APPOINTMENT, hidden=form, date=item.start.date().isoformat(), time=f"{item.start:%H:%M}",
        providers=options(providers, item.provider_id), **common,
    )  # fmt: skip


def _column(column: Column, day: Day, base: str, form: Markup, providers: list[tuple[str, str]]) -> Markup:
    items = join(_item(i, day, base, form, providers) for i in column.items) if column.items else EMPTY
    return render(COLUMN, pid=column.provider_id, name=column.name, items=items)


def grid(day: Day, base: str, csrf: str, nonce: str) -> Markup:
    form = hidden(csrf, nonce, day.date.isoformat())
    providers = [(c.provider_id, c.name) for c in day.columns]
    return join(_column(c, day, base, form, providers) for c in day.columns)
