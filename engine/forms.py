"""User-task forms: JSON Schemas in ``forms/``, validated on the server.

Errors come back per field, in Chinese for the official at the form, with the
field's own title so the message can be read without the schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

from fangfan.rules import id_number_problem

from .specs import FORMS_DIR


@dataclass(frozen=True)
class FieldError:
    #: Dotted path of the field, e.g. ``members.0.id_number``; "" for the form.
    path: str
    message: str


@lru_cache(maxsize=128)
def load_form(name: str, directory: Path = FORMS_DIR) -> dict:
    return json.loads((directory / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=128)
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_form(name), format_checker=FormatChecker())


def _title(schema: dict, path: list) -> str:
    """The Chinese title of the field at ``path``, as far as the schema names it."""
    titles, node = [], schema
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
            titles.append(f"第{part + 1}项")
        else:
            node = node.get("properties", {}).get(part, {})
            titles.append(node.get("title", part))
    return " / ".join(titles)


def _message(error) -> str:
    """The Chinese message of a schema error; a (sub)schema may carry its own
    ``x-message`` where the generic one would mislead."""
    own = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if own:
        return own
    kind = error.validator
    if kind == "required":
        return "请填写"
    if kind == "minimum":
        return f"不能小于 {error.validator_value}"
    if kind == "maximum":
        return f"不能大于 {error.validator_value}"
    if kind in ("minLength", "minItems"):
        return "不能为空"
    if kind in ("maxLength", "maxItems"):
        return f"过长（最多 {error.validator_value}）"
    if kind == "type":
        if error.schema.get("x-money"):
            return "金额应为数字，单位元，最多两位小数，如 6000 或 6000.50"
        return "格式不正确"
    if kind in ("enum", "oneOf", "const"):
        return "取值无效" if kind != "const" else "必须确认此项"
    if kind == "format":
        return (
            "日期格式应为 YYYY-MM-DD"
            if error.validator_value == "date"
            else "格式不正确"
        )
    if kind == "pattern":
        return "格式不正确"
    if kind == "additionalProperties":
        return "包含表单之外的字段"
    if kind == "uniqueItems":
        return "不能重复选择"
    return error.message


#: The most a money field may hold unless its schema says otherwise: 10 million
#: yuan, so that a slip of extra zeros is caught rather than stored.
MONEY_MAX_FEN = 1_000_000_000


def validate(
    form_name: str, data, today: date | None = None, earliest: date | None = None
) -> list[FieldError]:
    """Every problem with ``data`` for this form; empty when it may be submitted.

    With ``today``, fields marked ``x-past`` must be dates between ``earliest``
    (when the case began) and today: a visit or a meeting cannot be recorded
    for a day that has not come, nor for one before the case existed.
    """
    if not isinstance(data, dict):
        return [FieldError("", "表单数据格式不正确")]

    schema = load_form(form_name)
    errors = []
    for error in sorted(_validator(form_name).iter_errors(data), key=str):
        path = list(error.absolute_path)
        if error.validator == "required" and "'" in error.message:
            path.append(error.message.split("'")[1])  # the missing field itself
        title = _title(schema, path)
        message = _message(error)
        errors.append(
            FieldError(
                ".".join(map(str, path)), f"{title}：{message}" if title else message
            )
        )

    errors += _id_number_errors(schema, data, [])
    errors += _range_errors(schema, data, today, earliest)
    return _first_per_field(errors)


def _first_per_field(errors: list[FieldError]) -> list[FieldError]:
    """One message per field: the schema's, where a rule here says the same."""
    seen, kept = set(), []
    for error in errors:
        if error.path not in seen or not error.path:
            kept.append(error)
            seen.add(error.path)
    return kept


def _leaves(schema: dict, value, path: list):
    """(path, schema, value) of every scalar the data holds, following the schema."""
    if isinstance(value, dict):
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key)
            if sub is not None:
                yield from _leaves(sub, item, path + [key])
    elif isinstance(value, list) and schema.get("type") == "array":
        for index, item in enumerate(value):
            yield from _leaves(schema.get("items", {}), item, path + [index])
    else:
        yield path, schema, value


def _range_errors(
    schema: dict, data: dict, today: date | None, earliest: date | None
) -> list[FieldError]:
    found = []
    for path, sub, value in _leaves(schema, data, []):
        where = ".".join(map(str, path))
        if sub.get("x-money") and isinstance(value, int) and "maximum" not in sub:
            if value > MONEY_MAX_FEN:
                found.append(
                    FieldError(
                        where,
                        f"{_title(schema, path)}：金额过大，" "请核对是否多输了位数",
                    )
                )
        if sub.get("x-past") and today is not None and isinstance(value, str):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                continue
            if day > today:
                found.append(FieldError(where, f"{_title(schema, path)}：不能晚于今天"))
            elif earliest is not None and day < earliest:
                found.append(
                    FieldError(
                        where,
                        f"{_title(schema, path)}：不能早于"
                        f"本案开始之日（{earliest}）",
                    )
                )
    return found


def _id_number_errors(schema: dict, value, path: list) -> list[FieldError]:
    """GB 11643 check digits on ``id_number`` fields: JSON Schema cannot say them."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id_number" and isinstance(item, str):
                problem = id_number_problem(item)
                if problem:
                    where = path + [key]
                    found.append(
                        FieldError(
                            ".".join(map(str, where)),
                            f"{_title(schema, where)}：{problem}",
                        )
                    )
            else:
                found += _id_number_errors(schema, item, path + [key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _id_number_errors(schema, item, path + [index])
    return found
