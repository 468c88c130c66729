"""Login with hashed passwords, the current official, and CSRF on every form.

The CSRF token lives in the signed session and must come back with every POST,
as a form field or the ``X-CSRF-Token`` header; a request without it changes
nothing.
"""

from __future__ import annotations

import hmac
import secrets
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from werkzeug.security import check_password_hash

from engine.models import Division, User
from engine.runtime import Official

blueprint = Blueprint("auth", __name__)


def fangfan():
    return current_app.extensions["fangfan"]


def csrf_token() -> str:
    token = session.get("csrf")
    if token is None:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def install(app) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def load_user_and_check_csrf():
        g.user = None
        user_id = session.get("user_id")
        if user_id is not None:
            with fangfan().reads() as db:
                g.user = db.get(User, user_id)
                if g.user is not None:
                    g.division = db.get(Division, g.user.division_code)

        if request.method == "POST":
            sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
            if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
                abort(400, description="CSRF token missing or wrong")


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


def current_official() -> Official:
    return Official(g.user.username, g.user.role, g.user.division_code)


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        with fangfan().reads() as db:
            user = db.scalar(select(User).where(User.username == username))
        if user is None or not check_password_hash(user.password_hash, password):
            error = "用户名或密码错误"
        else:
            session.clear()
            session["user_id"] = user.id
            csrf_token()
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("inbox.index")
            return redirect(target)
    return render_template("login.html", error=error), 401 if error else 200


@blueprint.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
