"""The officials' workbench: a Flask app over one Fangfan installation."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path

from flask import Flask, abort, render_template, request

from engine.clock import CHINA
from engine.deadlines import overdue_text
from fangfan.household_states import STATES
from fangfan.roles import BY_CODE, CLUE_TAKERS
from fangfan.rules import CATEGORIES, mask_id_number, mask_phone, yuan


def create_app(fangfan, secret_key: str | None = None, testing: bool = False) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or os.environ.get("FANGFAN_SECRET_KEY") or _secret_file(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        TESTING=testing,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.extensions["fangfan"] = fangfan

    from . import (
        auth,
        cases,
        civil_affairs,
        clock_pages,
        escalations,
        households,
        inbox,
        lines,
        notices,
        tasks,
    )

    for module in (
        auth,
        inbox,
        tasks,
        escalations,
        cases,
        households,
        notices,
        lines,
        clock_pages,
        civil_affairs,
    ):
        app.register_blueprint(module.blueprint)
    from .incidents import blueprint as incidents_blueprint

    app.register_blueprint(incidents_blueprint)
    auth.install(app)

    app.jinja_env.filters.update(
        yuan=yuan,
        mask_id=mask_id_number,
        mask_phone=mask_phone,
        local=lambda moment: (
            moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else ""
        ),
        fromiso=lambda text: datetime.fromisoformat(text) if text else None,
    )
    app.jinja_env.globals.update(
        CATEGORIES=CATEGORIES,
        STATES=STATES,
        ROLES=BY_CODE,
        CLUE_TAKERS=CLUE_TAKERS,
        overdue_text=overdue_text,
    )

    @app.before_request
    def refuse_impossible_ids():
        """An id no row can have is simply not found, not a database error."""
        for value in (request.view_args or {}).values():
            if isinstance(value, int) and not 0 < value < 2**62:
                abort(404)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-ancestors 'none'",
        )
        return response

    @app.errorhandler(400)
    def bad_request(_error):
        return (
            render_template(
                "message.html",
                title="提交无效",
                message="页面已过期或提交内容无效（可能是登录已超时）。请返回上一页，刷新后重新填写提交。",
            ),
            400,
        )

    @app.errorhandler(403)
    def forbidden(_error):
        return (
            render_template(
                "message.html",
                title="无权访问",
                message="该内容不在您的岗位或辖区范围内。",
            ),
            403,
        )

    @app.errorhandler(404)
    def not_found(_error):
        return (
            render_template(
                "message.html", title="未找到", message="您要找的页面或案件不存在。"
            ),
            404,
        )

    @app.errorhandler(413)
    def too_large(_error):
        """Names the limit of this request: upload pages raise the app's."""
        limit = request.max_content_length or app.config["MAX_CONTENT_LENGTH"]
        return (
            render_template(
                "message.html",
                title="提交内容过大",
                message=f"提交的内容超过 {limit / (1024 * 1024):g} MB，请精简后重试。",
            ),
            413,
        )

    return app


def _secret_file() -> str:
    """A per-installation secret kept beside the default database."""
    path = Path(__file__).resolve().parent.parent / "instance" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
