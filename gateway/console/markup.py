"""Server-side HTML with `string.Template`: every value is escaped unless it is already `Markup`
(HTML this package built). No template engine: the console is a handful of small pages."""

from __future__ import annotations

import html
from collections.abc import Iterable
from string import Template


class Markup(str):
    """HTML that is safe as it is (built here from escaped parts)."""


def escape(value: object) -> str:
    return value if isinstance(value, Markup) else html.escape(str(value), quote=True)


def render(template: Template, **values: object) -> Markup:
    return Markup(template.substitute({name: escape(value) for name, value in values.items()}))


def join(parts: Iterable[Markup]) -> Markup:
    return Markup("".join(parts))


def options(choices: Iterable[tuple[str, str]], selected: str = "") -> Markup:
    """<option>s of (value, label), `selected` preselected."""
    item = Template('<option value="$value"$selected>$label</option>')
    return join(
        render(item, value=value, label=label, selected=Markup(" selected" if value == selected else ""))
        for value, label in choices
    )
