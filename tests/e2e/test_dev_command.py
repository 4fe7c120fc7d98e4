"""``ticketflow dev`` as a person runs it: the command in its own process, real
signals, real emulators, and what is left afterwards checked from outside (``/proc``
and the ports).

One command is started once for the module and restarted by the tests in order
(a test module shares one stack to keep the suite's time down): a second start on
the same ports is refused naming the process that holds them; two Ctrl-C 0.3 s
apart stop every child; a start after that finds the data consistent (the account,
the ticket and its run all kept, or all gone together); a clean stop and start keeps
them, as the page shows them; the first run offers the sample repository, made a git
repository under the state folder, and a ticket on it stops at the review.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ticketflow.adapters.libsql.database import Database
from ticketflow.dev.emulators import AuthEmulator
from ticketflow.testing.browser import ARTIFACTS, StackError, built_page, run_driver
from ticketflow.testing.dev_command import DevCommand, alive
from ticketflow.testing.waiting import wait_until

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

ROOT = ARTIFACTS / "dev-command"


@pytest.fixture(scope="module")
def dev() -> Iterator[DevCommand]:
    try:
        dist = built_page(ROOT / "dist", ROOT / "vite-build.log")
    except StackError as exc:
        pytest.fail(str(exc), pytrace=False)
    import shutil

    shutil.rmtree(ROOT / "state", ignore_errors=True)
    command = DevCommand(ROOT / "state", dist=dist,
                         env={"TICKETFLOW_LLM": "offline", "TICKETFLOW_INDEX_WAIT_S": "0"})
    command.start()
    try:
        command.wait_ready()
        yield command
    finally:
        command.kill()


def _auth(dev: DevCommand) -> AuthEmulator:
    """The command's Auth emulator, spoken to over its REST API (not started here)."""
    return AuthEmulator(ROOT / "probe", port=dev.ports["auth"], project_id=dev.project_id)


def _sign_in(dev: DevCommand, email: str, password: str) -> dict[str, str] | None:
    resp = httpx.post(f"http://127.0.0.1:{dev.ports['auth']}/identitytoolkit.googleapis.com"
                      "/v1/accounts:signInWithPassword", params={"key": "any"},
                      json={"email": email, "password": password, "returnSecureToken": True},
                      timeout=10)
    return resp.json() if resp.status_code == 200 else None


def _ticket(dev: DevCommand, aec_id: str, token: str) -> dict[str, Any] | None:
    url = (f"http://127.0.0.1:{dev.ports['firestore']}/v1/projects/{dev.project_id}"
           f"/databases/(default)/documents/aecs/{aec_id}")
    resp = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return resp.json() if resp.status_code == 200 else None


def _runs(dev: DevCommand, aec_id: str) -> list[str]:
    with Database(f"http://127.0.0.1:{dev.ports['database']}") as db:  # its sqld
        try:
            rows = db.execute("SELECT status FROM runs WHERE aec_id = ?", [aec_id]).rows
        except Exception:  # no table yet: an empty database
            return []
    return [str(r[0]) for r in rows]


def _create_ready_ticket(dev: DevCommand, email: str, password: str) -> str:
    uid, token = _auth(dev).sign_up(email, password)
    aec_id = f"aec-dev-{int(time.time() * 1000)}"
    url = (f"http://127.0.0.1:{dev.ports['firestore']}/v1/projects/{dev.project_id}"
           f"/databases/(default)/documents:commit")
    name = f"projects/{dev.project_id}/databases/(default)/documents/aecs/{aec_id}"
    fields = {"id": {"stringValue": aec_id}, "ownerId": {"stringValue": uid},
              "title": {"stringValue": "Let users reset a forgotten password"},
              "description": {"stringValue": "A user who forgot their password can ask "
                                             "for a reset link by email."},
              "repo": {"nullValue": None}, "status": {"stringValue": "draft"},
              "locked": {"booleanValue": False}, "version": {"integerValue": "0"}}
    body = {"writes": [{"update": {"name": name, "fields": fields},
                        "currentDocument": {"exists": False},
                        "updateTransforms": [
                            {"fieldPath": "createdAt", "setToServerValue": "REQUEST_TIME"},
                            {"fieldPath": "updatedAt", "setToServerValue": "REQUEST_TIME"}]}]}
    resp = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    resp = httpx.post(f"{dev.functions_url}/start_generation", json={"aecId": aec_id},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert resp.status_code == 202, resp.text
    wait_until(lambda: (t := _ticket(dev, aec_id, token)) and
               t["fields"]["status"]["stringValue"] == "ready",
               90, what="the ticket ready", logs=lambda: dev.output)
    return aec_id


def test_a_second_start_on_taken_ports_is_refused_naming_the_holder(dev: DevCommand) -> None:
    children = dev.children()
    second = DevCommand(ROOT / "second-state", dist=dev.dist, ports=dict(dev.ports))
    second.start()
    try:
        code = second.wait_exit(60)
    finally:
        second.kill()
    assert code == 1, second.output
    message = second.output
    assert "is in use by pid" in message, message
    named = {int(p) for p in re.findall(r"pid (\d+)", message)}
    assert named and named <= children, (named, children)  # the first command's own
    for name, port in dev.ports.items():
        assert f"port {port}" in message, (name, message)
    assert not (ROOT / "second-state" / "sqld").exists()  # nothing started
    assert dev.proc is not None and dev.proc.poll() is None  # the first one runs on


def test_two_ctrl_c_stop_every_child_and_the_data_stays_consistent(dev: DevCommand) -> None:
    email, password = f"dev-{int(time.time())}@example.com", "pw-123456"
    aec_id = _create_ready_ticket(dev, email, password)
    assert _runs(dev, aec_id) == ["completed"]
    children = dev.children()
    assert len(children) >= 6, children  # sqld, tasks, firestore (+java), auth, functions, hosting
    dev.interrupt()
    time.sleep(0.3)
    dev.interrupt()
    started = time.monotonic()
    assert dev.wait_exit(60) == 0, dev.output
    stop_s = time.monotonic() - started
    left = alive(children)
    assert not left, f"left running after two Ctrl-C: {left}\n{dev.output}"
    assert all(dev.ports_free().values()), dev.ports_free()
    assert "stopped" in dev.lines, dev.output
    print(f"stopped in {stop_s:.1f}s")

    # Started again: the account, the ticket and its run are all there, or all gone.
    dev.start()
    dev.wait_ready()
    signed_in = _sign_in(dev, email, password)
    kept_note = any(line.startswith("data: kept") for line in dev.lines)
    if signed_in is not None:
        assert kept_note, dev.output
        doc = _ticket(dev, aec_id, signed_in["idToken"])
        assert doc is not None and doc["fields"]["status"]["stringValue"] == "ready"
        assert _runs(dev, aec_id) == ["completed"]
    else:
        assert any(line.startswith("data: starting empty") for line in dev.lines), dev.output
        assert _runs(dev, aec_id) == []


@pytest.mark.browser
def test_a_clean_stop_and_start_keeps_accounts_tickets_and_runs(dev: DevCommand) -> None:
    email, password = f"keep-{int(time.time())}@example.com", "pw-123456"
    aec_id = _create_ready_ticket(dev, email, password)
    dev.interrupt()
    assert dev.wait_exit(60) == 0, dev.output
    assert any(line.startswith("data: saved") for line in dev.lines), dev.output
    dev.start()
    dev.wait_ready()
    assert any(line.startswith("data: kept") for line in dev.lines), dev.output
    signed_in = _sign_in(dev, email, password)
    assert signed_in is not None, "the account is gone after a restart"
    doc = _ticket(dev, aec_id, signed_in["idToken"])
    assert doc is not None and doc["fields"]["status"]["stringValue"] == "ready"
    assert _runs(dev, aec_id) == ["completed"]
    assert f"Open {dev.web_url} first." in dev.lines, dev.output
    # What the person sees in Chromium: signed in again, the ticket listed and ready.
    r = run_driver(dev, "sign_in_again", TF_EMAIL=email, TF_PASSWORD=password,
                   TF_AEC_ID=aec_id)
    assert aec_id in r["list"]["listRows"], r["list"]
    assert r["ticket"]["status"] == "ready" and r["ticket"]["ready"], r["ticket"]


def _git_head(path: Path) -> str:
    from dulwich.repo import Repo

    with Repo(str(path)) as repo:
        return repo.head().decode()


@pytest.mark.browser
def test_the_first_run_offers_the_sample_and_a_ticket_on_it_stops_at_the_review(
        dev: DevCommand) -> None:
    sample = dev.state_dir / "sample-repo"
    head = _git_head(sample)  # a git repository the command made of examples/sample-repo
    assert (sample / "billing" / "pdf.py").is_file()
    line = next((x for x in dev.lines if x.startswith("sample repository: ")), "")
    assert f"file://{sample} (git, commit {head[:12]}" in line, dev.output
    assert "Use the sample repository" in line, line
    assert dev.lines.index(line) < dev.lines.index(f"Open {dev.web_url} first."), dev.output
    r = run_driver(dev, "first_run")
    assert r["offered"] == f"file://{sample}" and r["offerStateBefore"] == "none", r
    assert r["repoBefore"] == "" and r["repoAfter"] == f"file://{sample}", r
    assert not r["sampleError"], r
    review = r["atReview"]
    assert review["status"] == "awaiting_review" and review["findingsModal"], review
    assert any(sev == "critical" for _, sev in review["findings"]), review["findings"]
    assert r["atQuestions"]["status"] == "awaiting_answers" and r["atQuestions"]["wizard"]
    # the ticket as stored: checked against the sample's index, at its commit
    signed_in = _sign_in(dev, r["email"], "pw-e2e-123456")
    assert signed_in is not None
    doc = _ticket(dev, r["aecId"], signed_in["idToken"])
    assert doc is not None
    repo = doc["fields"]["repository"]["mapValue"]["fields"]
    assert repo["url"]["stringValue"] == f"file://{sample}"
    assert repo["commit"]["stringValue"] == head
    assert repo["status"]["stringValue"] == "ready"


def test_printed_paths_exist(dev: DevCommand) -> None:
    logs = next(line.split()[-1] for line in dev.lines if line.startswith("logs"))
    assert Path(logs).is_dir()
