"""An official at a desk: logs in and works through the workbench over HTTP.

Tests drive Fangfan the way a browser does: pages, links, form posts with the
CSRF token. Only the HTML is read back, never the engine's internals.
"""

from __future__ import annotations

import re

from fangfan.demo_data import DEMO_PASSWORD

_TASK_LINK = re.compile(
    r'href="/tasks/([0-9a-f-]{36})" data-step="([a-z_]+)" data-household="(\d+)"'
)


_ESCALATION_LINK = re.compile(
    r'href="/escalations/(\d+)" data-escalation="([a-z_]+)" data-household="(\d+)"'
)


class Desk:
    def __init__(self, app, username: str):
        self.client = app.test_client()
        self.username = username
        page = self.client.get("/login")
        assert page.status_code == 200
        response = self.client.post(
            "/login",
            data={
                "username": username,
                "password": DEMO_PASSWORD,
                "csrf_token": self.csrf(),
            },
        )
        assert response.status_code == 302, f"login failed for {username}"

    def csrf(self) -> str:
        with self.client.session_transaction() as session:
            return session.get("csrf", "")

    def get(self, url: str):
        return self.client.get(url)

    def post(self, url: str, data: dict | list):
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        pairs.append(("csrf_token", self.csrf()))
        return self.client.post(url, data=_multidict(pairs))

    def inbox(self) -> list[tuple[str, str, int]]:
        """(task id, step name, household id) of every task in my inbox."""
        page = self.get("/")
        assert page.status_code == 200
        return [(t, step, int(h)) for t, step, h in _TASK_LINK.findall(page.text)]

    def task_for(self, household_id: int, step: str) -> str | None:
        for task_id, name, household in self.inbox():
            if household == household_id and name == step:
                return task_id
        return None

    def escalation_for(self, household_id: int, step: str) -> int | None:
        """The overdue ``step`` of the household that my inbox asks me to supervise."""
        page = self.get("/")
        assert page.status_code == 200
        for escalation, name, household in _ESCALATION_LINK.findall(page.text):
            if int(household) == household_id and name == step:
                return int(escalation)
        return None

    def supervise(self, household_id: int, step: str, fields: dict):
        """Record my supervision (督办措施) of the household's overdue ``step``."""
        escalation = self.escalation_for(household_id, step)
        assert escalation, f"{self.username} supervises no {step} of {household_id}"
        assert self.get(f"/escalations/{escalation}").status_code == 200
        return self.post(f"/escalations/{escalation}", fields)

    def complete(self, household_id: int, step: str, fields: dict | list):
        """Open my task ``step`` for the household and submit ``fields``."""
        task_id = self.task_for(household_id, step)
        assert (
            task_id
        ), f"{self.username} has no {step} task for household {household_id}"
        assert self.get(f"/tasks/{task_id}").status_code == 200
        return self.post(f"/tasks/{task_id}", fields)

    def report_clue(self, fields: dict):
        return self.post("/clues/new", fields)


def _multidict(pairs):
    from werkzeug.datastructures import MultiDict

    return MultiDict(pairs)


def case_id(response) -> int:
    """The case a redirect after a command points at."""
    match = re.search(r"/cases/(\d+)", response.headers.get("Location", ""))
    assert match, f"expected a redirect to a case, got {response.status_code}"
    return int(match.group(1))
