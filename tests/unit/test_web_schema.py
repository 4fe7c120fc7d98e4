"""The web page's document types follow the pydantic models.

``web/src/generated/models.schema.json`` must be what
:mod:`ticketflow.dev.web_schema` exports now; ``web/test/models.test.ts`` checks the
other half (``models.ts`` is what json-schema-to-typescript makes of that schema).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ticketflow.dev import web_schema
from ticketflow.domain import (
    AEC,
    Draft,
    Finding,
    GenerationState,
    Provider,
    Question,
    StepProgress,
    Suspension,
)
from ticketflow.ports import ActionResult
from ticketflow.workflow.actions import ActionRequest, parse_action

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "web" / "src" / "generated" / "models.schema.json"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _defs() -> dict[str, Any]:
    defs: dict[str, Any] = web_schema.web_schema()["$defs"]
    return defs


def _full_ticket() -> AEC:
    """A ticket at the questions suspension with every nested model filled in."""
    finding = Finding(id="f1", kind="missing_file", severity="critical", evidence="a.py",
                      message="a.py does not exist")
    question = Question(id="q1", text="Which format?", choices=["CSV"])
    state = GenerationState(
        run_id="r1", status="suspended", current_step=9, total_steps=11, seq=3, updated_at=NOW,
        steps=[StepProgress(index=1, name="extract_intent", title="Extract intent",
                            started_at=NOW, finished_at=NOW)],
        suspension=Suspension(kind="questions", token="t", findings=[finding],
                              questions=[question], draft=Draft(acceptance_criteria=["x"]),
                              expires_at=NOW),
        provider=Provider(name="offline", offline=True),
    )
    aec = AEC.new(aec_id="a1", owner_id="u1", title="Export")
    return aec.lock_for("r1", state).model_copy(update={"created_at": NOW, "updated_at": NOW})


def test_committed_schema_is_what_the_models_give() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == web_schema.render(), (
        "web/src/generated/models.schema.json is out of date: run `make web-models`"
    )


def test_check_fails_on_a_stale_file_and_passes_on_a_fresh_one(tmp_path: Path) -> None:
    stale = tmp_path / "models.schema.json"
    stale.write_text(web_schema.render().replace('"ownerId"', '"owner_id"'), encoding="utf-8")
    assert web_schema.main(["--check", str(stale)]) == 1
    assert web_schema.main(["--out", str(stale)]) == 0
    assert web_schema.main(["--check", str(stale)]) == 0
    assert web_schema.main(["--check", str(tmp_path / "absent.json")]) == 1


def test_ticket_properties_are_the_keys_the_server_writes() -> None:
    """The server writes ``model_dump(by_alias=True)``: camelCase, every field."""
    defs = _defs()
    doc: dict[str, Any] = _full_ticket().model_dump(mode="json", by_alias=True)
    assert set(defs["AEC"]["properties"]) == set(doc)
    gs = doc["generationState"]
    assert set(defs["GenerationState"]["properties"]) == set(gs)
    assert set(defs["StepProgress"]["properties"]) == set(gs["steps"][0])
    assert set(defs["Suspension"]["properties"]) == set(gs["suspension"])
    assert set(defs["Finding"]["properties"]) == set(gs["suspension"]["findings"][0])
    assert set(defs["Question"]["properties"]) == set(gs["suspension"]["questions"][0])
    assert set(defs["Draft"]["properties"]) == set(gs["suspension"]["draft"])
    # datetimes are date-time strings, the form the page's converter reads them into
    assert {"format": "date-time", "type": "string"} in defs["AEC"]["properties"]["updatedAt"][
        "anyOf"]


def test_a_page_written_draft_is_a_valid_ticket() -> None:
    """Fields with a default are optional in the schema, as the page's draft needs."""
    defs = _defs()
    assert set(defs["AEC"]["required"]) == {"id", "ownerId", "title"}
    draft = {"id": "a1", "ownerId": "u1", "title": "T", "description": "", "repo": None,
             "status": "draft", "locked": False, "createdAt": NOW, "updatedAt": NOW,
             "version": 0}
    assert AEC.model_validate(draft).status == "draft"


def test_action_shapes() -> None:
    defs = _defs()
    written = {"type": "answer", "runId": "r1", "token": "t", "uid": "u1", "createdAt": NOW,
               "answers": {"q1": "CSV"}}  # what the page writes, as firestore.rules allow
    assert set(written) - {"createdAt"} <= set(defs["ActionRequest"]["properties"])
    parsed = parse_action(written, action_id="x", aec_id="a1")
    assert isinstance(parsed, ActionRequest)
    assert parsed.answers == {"q1": "CSV"}
    result = ActionResult(action_id="x", status="accepted", run_id="r1", at=NOW)
    assert set(defs["ActionResult"]["properties"]) == set(result.model_dump(by_alias=True))
    assert defs["ActionResult"]["required"] == ["actionId", "status"]
