"""Login with hashed passwords, the current official, and CSRF on every form.

The CSRF token lives in the signed session and must come back with every POST,
as a form field or the ``X-CSRF-Token`` header; a request without it changes
nothing.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta, timezone
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
                user = db.get(User, user_id)
                if user is not None and user.session_epoch == session.get("epoch"):
                    g.user = user
                    g.division = db.get(Division, user.division_code)

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


#: After this many wrong passwords in a row an account waits ``LOCKOUT``.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    error, username = None, ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:64]
        user, error = _check_password(username, request.form.get("password", ""))
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            session["epoch"] = user.session_epoch
            csrf_token()
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith(("//", "/\\")):
                target = url_for("inbox.index")
            return redirect(target)
    return render_template("login.html", error=error, username=username), (
        401 if error else 200
    )


def _check_password(username: str, password: str) -> tuple[User | None, str | None]:
    """The user, or why not; wrong passwords count towards a lockout.

    Real time is used here, not the simulated clock: a lockout protects the
    accounts of a training database as much as any other.
    """
    now = datetime.now(timezone.utc)
    with fangfan().sessions.begin() as db:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            return None, "用户名或密码错误"
        if user.locked_until is not None and user.locked_until > now:
            return None, "密码错误次数过多，账号已暂时锁定，请15分钟后再试"
        if not check_password_hash(user.password_hash, password):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.failed_logins, user.locked_until = 0, now + LOCKOUT
            return None, "用户名或密码错误"
        user.failed_logins, user.locked_until = 0, None
        return user, None


@blueprint.route("/logout", methods=["POST"])
def logout():
    """End this session everywhere: copies of its cookie stop working too."""
    if g.user is not None:
        with fangfan().sessions.begin() as db:
            db.get(User, g.user.id).session_epoch += 1
    session.clear()
    return redirect(url_for("auth.login"))
