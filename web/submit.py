"""Posting a form to a command: the pattern every form page shares.

The page parses the post against its JSON Schema and runs the command. Refused
data comes back as messages beside the fields (400) with what was typed kept;
a refused command (done by someone else meanwhile, not allowed) is a page of
its own (409); success is a flash and a redirect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask import flash, redirect, render_template, request

from engine.errors import CommandError, InvalidData

from . import formfields


@dataclass
class Outcome:
    """What a post did: the data to show again, errors, and the reply if done."""

    data: dict | None = None
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 200
    reply: object = None


def submit(
    schema: dict,
    command: Callable[[dict], object],
    refused_title: str,
    done_message: str,
    done_url: str,
) -> Outcome:
    """Run ``command`` with the posted form; see the module for what comes back."""
    data = formfields.parse(schema, request.form)
    try:
        command(data)
    except InvalidData as error:
        return Outcome(data, {e.path: e.message for e in error.errors}, 400)
    except CommandError as error:
        page = render_template(
            "message.html", title=refused_title, message=error.message_zh
        )
        return Outcome(data, reply=(page, 409))

    flash(done_message)
    return Outcome(data, reply=redirect(done_url))
