"""User-task forms: JSON Schemas in ``forms/``, validated on the server.

Errors come back per field, in Chinese for the official at the form, with the
field's own title so the message can be read without the schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
        return "格式不正确"
    if kind in ("enum", "oneOf", "const"):
        return "取值无效" if kind != "const" else "必须确认此项"
    if kind == "format":
        return "日期格式应为 YYYY-MM-DD" if error.validator_value == "date" else "格式不正确"
    if kind == "pattern":
        return "格式不正确"
    if kind == "additionalProperties":
        return "包含表单之外的字段"
    if kind == "uniqueItems":
        return "不能重复选择"
    return error.message


def validate(form_name: str, data) -> list[FieldError]:
    """Every problem with ``data`` for this form; empty when it may be submitted."""
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
        errors.append(FieldError(".".join(map(str, path)),
                                 f"{title}：{message}" if title else message))

    errors += _id_number_errors(schema, data, [])
    return errors


def _id_number_errors(schema: dict, value, path: list) -> list[FieldError]:
    """GB 11643 check digits, which JSON Schema cannot express, on ``id_number`` fields."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id_number" and isinstance(item, str):
                problem = id_number_problem(item)
                if problem:
                    where = path + [key]
                    found.append(FieldError(".".join(map(str, where)),
                                            f"{_title(schema, where)}：{problem}"))
            else:
                found += _id_number_errors(schema, item, path + [key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _id_number_errors(schema, item, path + [index])
    return found
