"""JSON Schema forms as HTML, and posted HTML forms back as data for the schema.

Field names are dotted paths (``income.wages_fen``, ``members.0.name``), so the
nested data of a schema survives a plain HTML post. Money fields (``x-money``)
are typed in yuan and stored as integer fen. Parsing never guesses: a value it
cannot read is passed on as typed, and the schema rejects it with a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from fangfan.rules import yuan

_YUAN = re.compile(r"^-?\d+(\.\d{1,2})?$")


@dataclass
class Field:
    name: str
    title: str
    #: text, textarea, number, money, date, select, checkbox, checks, rows, group
    kind: str
    required: bool = False
    value: object = None
    options: list[tuple[str, str]] = field(default_factory=list)
    children: list["Field"] = field(default_factory=list)
    #: For ``rows``: one list of fields per row, and a blank row for adding more.
    rows: list[list["Field"]] = field(default_factory=list)
    template: list["Field"] = field(default_factory=list)
    description: str = ""
    error: str = ""


def _options(schema: dict) -> list[tuple[str, str]]:
    if "oneOf" in schema:
        return [
            (str(o.get("const")), o.get("title", str(o.get("const"))))
            for o in schema["oneOf"]
            if "const" in o
        ]
    if "enum" in schema:
        return [(str(v), str(v)) for v in schema["enum"]]
    return []


def build(
    schema: dict,
    data: dict | None,
    errors: dict[str, str] | None = None,
    prefix: str = "",
) -> list[Field]:
    """The fields of an object schema, filled with ``data`` and marked with errors."""
    data = data or {}
    errors = errors or {}
    required = set(schema.get("required", []))
    fields = []
    for key, sub in schema.get("properties", {}).items():
        name = f"{prefix}{key}"
        fields.append(_field(name, sub, data.get(key), key in required, errors))
    return fields


def _field(name: str, schema: dict, value, required: bool, errors: dict) -> Field:
    title = schema.get("title", name.rsplit(".", 1)[-1])
    base = dict(
        name=name,
        title=title,
        required=required,
        description=schema.get("description", ""),
        error=_beside_field(errors.get(name, "")),
    )
    kind = schema.get("type")

    if kind == "object":
        return Field(
            kind="group",
            children=build(
                schema, value if isinstance(value, dict) else {}, errors, name + "."
            ),
            **base,
        )

    if kind == "array":
        items = schema.get("items", {})
        if items.get("type") == "object":
            rows = [
                build(items, row, errors, f"{name}.{index}.")
                for index, row in enumerate(value or [{}])
                if isinstance(row, dict)
            ]
            return Field(
                kind="rows",
                rows=rows,
                template=build(items, {}, {}, f"{name}.__index__."),
                **base,
            )
        return Field(
            kind="checks",
            options=_options(items),
            value=[str(v) for v in value or []],
            **base,
        )

    if kind == "boolean":
        return Field(kind="checkbox", value=bool(value), **base)

    if _options(schema):
        return Field(
            kind="select",
            options=_options(schema),
            value="" if value is None else str(value),
            **base,
        )

    if kind == "integer" and schema.get("x-money"):
        shown = yuan(value) if isinstance(value, int) else value
        return Field(kind="money", value="" if shown is None else shown, **base)

    if kind in ("integer", "number"):
        return Field(kind="number", value="" if value is None else value, **base)

    if schema.get("format") == "date":
        return Field(kind="date", value=value or "", **base)

    widget = "textarea" if schema.get("x-widget") == "textarea" else "text"
    return Field(kind=widget, value=value or "", **base)


def _beside_field(message: str) -> str:
    """An error shown under its field needs no field path: "…／身份证号：X" → "X"."""
    return message.split("：", 1)[-1] if "：" in message else message


def parse(schema: dict, form, prefix: str = "") -> dict:
    """The posted form as data for the schema (``form`` is a MultiDict)."""
    data = {}
    for key, sub in schema.get("properties", {}).items():
        name = f"{prefix}{key}"
        value = _parse_value(name, sub, form)
        if value is not None:
            data[key] = value
    return data


def _parse_value(name: str, schema: dict, form):
    kind = schema.get("type")
    if kind == "object":
        return parse(schema, form, name + ".")

    if kind == "array":
        items = schema.get("items", {})
        if items.get("type") == "object":
            indices = sorted(
                {
                    int(m.group(1))
                    for k in form.keys()
                    if (m := re.match(re.escape(name) + r"\.(\d+)\.", k))
                }
            )
            rows = [parse(items, form, f"{name}.{i}.") for i in indices]
            return [
                row
                for row in rows
                if any(v not in ("", None, False) for v in row.values())
            ]
        return [_scalar(items, v) for v in form.getlist(name)]

    if kind == "boolean":
        return form.get(name) in ("on", "true", "1", "yes")

    raw = form.get(name)
    if raw is None or raw.strip() == "":
        return None
    if name.endswith("id_number"):
        raw = raw.upper()  # the check character X is often typed in lower case
    return _scalar(schema, raw.strip())


def _scalar(schema: dict, raw: str):
    kind = schema.get("type")
    if kind == "integer" and schema.get("x-money"):
        if not _YUAN.match(raw):
            return raw
        try:
            return int((Decimal(raw) * 100).to_integral_exact())
        except InvalidOperation:
            return raw
    if kind == "integer":
        return int(raw) if re.fullmatch(r"-?\d+", raw) else raw
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw
