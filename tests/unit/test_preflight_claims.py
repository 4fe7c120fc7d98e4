"""What a request claims exists (existence against creation, quoted labels, things
named by description) and the wording warnings, on sentences written here."""

from __future__ import annotations

import pytest

from ticketflow.ports.llm import Claim
from ticketflow.preflight import extract_references, merge, references_from, rule_claims
from ticketflow.preflight.conflicts import contradictions
from ticketflow.preflight.wording import unmeasurable


def _refs(text: str) -> dict[tuple[str, str], bool]:
    return {(r.kind, r.name): r.creates for r in extract_references(text)}


@pytest.mark.parametrize(("text", "ref", "creates"), [
    ("Reuse the existing `format_money()` helper in billing/money.py.",
     ("symbol", "format_money"), False),
    ("Add a new `RefundService` class in billing/refunds.py.", ("file", "billing/refunds.py"),
     True),
    ("Admins must be able to archive a project (POST /projects/{id}/archive).",
     ("route", "POST /projects/{id}/archive"), True),
    ("The existing GET /projects/{id}/members endpoint returns removed members.",
     ("route", "GET /projects/{id}/members"), False),
    ("Clients must be able to page through GET /projects with a cursor.",
     ("route", "GET /projects"), True),
    ("Create a new `ArchiveBanner` component and show it on the project page.",
     ("symbol", "ArchiveBanner"), True),
])
def test_existence_against_creation(text: str, ref: tuple[str, str], creates: bool) -> None:
    assert _refs(text)[ref] is creates


def test_quoted_labels_are_ui_text_and_paths_are_not() -> None:
    refs = _refs("Clicking 'Archive project' in the settings menu does nothing. The "
                 "'Export' button should send 'text/csv'. Add a new 'Restore' link.")
    assert refs[("ui_text", "Archive project")] is False
    assert refs[("ui_text", "Export")] is False
    assert refs[("ui_text", "Restore")] is True
    assert ("ui_text", "text/csv") not in refs


def test_things_named_by_description() -> None:
    claims = rule_claims("Use the same fields as the existing signup form for invites.")
    described = [c for c in claims if c.kind == "description"]
    assert [c.name for c in described] == ["signup form"]
    assert described[0].quote == "Use the same fields as the existing signup form for invites."
    concrete = rule_claims("The existing GET /invites endpoint is slow to answer.")
    assert [c.kind for c in concrete] == ["route"]


def test_model_claims_are_merged_and_quotes_come_from_the_request() -> None:
    text = "Title.\nThe invite mail uses `send_invite()`. Add a 'Resend' button."
    rules = rule_claims(text)
    model = [Claim(kind="symbol", name="send_invite", quote="paraphrased, not verbatim",
                   presented_as="existing"),
             Claim(kind="ui_text", name="Resend", quote="Add a 'Resend' button.",
                   presented_as="new"),
             Claim(kind="symbol", name="not_in_the_text", presented_as="existing")]
    refs = references_from(merge(rules, model), text)
    by_name = {r.name: r for r in refs}
    assert set(by_name) == {"send_invite", "Resend"}  # a name not in the request is dropped
    assert by_name["send_invite"].evidence == "The invite mail uses `send_invite()`"
    assert by_name["Resend"].creates is True


@pytest.mark.parametrize("sentence", [
    "The dashboard should load faster.",
    "Exports need to be more reliable.",
    "The search box should feel smarter.",
    "Make the import page easier to use.",
])
def test_unmeasurable_requirements(sentence: str) -> None:
    found = unmeasurable(f"Something.\n{sentence}")
    assert [u.sentence for u in found] == [sentence]


@pytest.mark.parametrize("text", [
    "The dashboard should load in under 2 seconds for 10,000 rows.",
    "Add a CSV export of the current filter to the invoice page.",
    "Users must be able to rename a project from its settings.",
    "Backups always run at night and never during office hours.",
])
def test_measurable_or_plain_requests_get_no_warning(text: str) -> None:
    assert unmeasurable(text) == [] and contradictions(text) == []


@pytest.mark.parametrize(("text", "why"), [
    ("Reports must be emailed immediately after they are generated. Reports are collected "
     "into a single weekly digest.", "immediately / later in a batch"),
    ("The comment field must stay optional. A comment cannot be posted without a field "
     "value.", "optional / required"),
    ("Every project member can see the budget. Only project owners may see the budget.",
     "everyone / only"),
    ("Show all results at once without paging, and keep 50 results per page.",
     "all at once / paged"),
    ("The sync runs synchronously for small accounts and asynchronously for large ones.",
     "synchronous / asynchronous"),
])
def test_contradictions_quote_only_their_sentences(text: str, why: str) -> None:
    found = contradictions(text)
    assert [c.why for c in found] == [why]
    for part in found[0].evidence.split(" … "):
        assert part in text


@pytest.mark.parametrize(("text", "ref"), [
    # an adjective cue describes its own noun, not a name later in the sentence
    ("The importer hands the new invoice to BillingQueue.enqueue_invoice() right away.",
     ("symbol", "BillingQueue.enqueue_invoice")),
    # a clause break ends what a creation cue bears on
    ("MAX_ROWS stops new exports past 500, but we also set EXPORT_KEEP_DAYS=7 in our env.",
     ("setting", "EXPORT_KEEP_DAYS")),
    # a participle after a noun describes what exists
    ("Orders created with POST /orders never get a receipt number.",
     ("route", "POST /orders")),
])
def test_creation_cues_bear_only_on_their_own_noun_and_clause(
        text: str, ref: tuple[str, str]) -> None:
    assert _refs(text)[ref] is False


@pytest.mark.parametrize(("text", "ref"), [
    ("Add a new `archive_invoice()` helper for the nightly job.",
     ("symbol", "archive_invoice")),
    ("Introduce a SHIPPING_CUTOFF_HOUR setting for the warehouse.",
     ("setting", "SHIPPING_CUTOFF_HOUR")),
    ("Reports must be added to a new helper `render_totals()` in the summary page.",
     ("symbol", "render_totals")),
])
def test_creation_cues_still_ask_for_what_they_name(text: str, ref: tuple[str, str]) -> None:
    assert _refs(text)[ref] is True


@pytest.mark.parametrize(("text", "key"), [
    ("We run the worker with retryPolicy: {maxTries: 4, backoffSeconds: 30}.", "backoffSeconds"),
    ("We configured sessionIdleMinutes: 45 for the kiosk build.", "sessionIdleMinutes"),
    ("Our deployment sets upload_chunk_kb=256 and nothing changes.", "upload_chunk_kb"),
])
def test_a_key_written_with_a_value_is_a_setting(text: str, key: str) -> None:
    refs = _refs(text)
    assert refs[("setting", key)] is False
    assert ("symbol", key) not in refs


def test_a_dotted_path_through_keys_written_with_values_is_a_setting() -> None:
    text = ("We set paging: { hardCap: 100, softCap: 20 } in the server options file. "
            "Apply paging.softCap when the client sends no size.")
    assert ("setting", "paging.softCap") in _refs(text)


@pytest.mark.parametrize("text", [
    "The list returns maxItems items when nothing else is given.",
    "Note: this only happens on Mondays.",
    "The ratio is 3:4 on the preview.",
])
def test_names_without_a_written_value_are_no_setting(text: str) -> None:
    assert not [k for k in _refs(text) if k[0] == "setting"]


@pytest.mark.parametrize(("text", "label"), [
    ("When I pick 'Last quarter' the chart still starts in May.", "Last quarter"),
    ("When they use 'Send reminder' from an overdue invoice nothing is sent.", "Send reminder"),
])
def test_labels_picked_or_used_from_a_screen_are_ui_text(text: str, label: str) -> None:
    assert ("ui_text", label) in _refs(text)


def test_a_cue_word_inside_a_code_name_is_no_cue() -> None:
    refs = _refs("CartStore.add() passes the cart to CartStore.reprice_lines() first.")
    assert refs[("symbol", "CartStore.reprice_lines")] is False


def test_a_new_thing_and_where_it_goes_are_both_new() -> None:
    refs = _refs("Add a new `LedgerExporter` class in finance/ledger_export.py.")
    assert refs[("symbol", "LedgerExporter")] is True
    assert refs[("file", "finance/ledger_export.py")] is True


def test_a_key_of_a_dotted_path_named_whole_is_not_reported_again() -> None:
    refs = _refs("We set paging: { hardCap: 100, softCap: 20 } for the server. "
                 "Apply paging.softCap when the client sends no size.")
    assert [k for k in refs if k[1] == "softCap"] == []


@pytest.mark.parametrize(("text", "key"), [
    ('Our config.json has "archiveAfterDays": 30 but nothing is archived.', "archiveAfterDays"),
    ("I put 'reminder_cron': '0 8 * * 1' in the plugin block.", "reminder_cron"),
    ("The owner set invite_expiry_hours to 48 on the admin page.", "invite_expiry_hours"),
])
def test_quoted_keys_with_values_and_names_set_to_a_value_are_settings(text: str,
                                                                      key: str) -> None:
    refs = _refs(text)
    assert refs[("setting", key)] is False
    assert ("symbol", key) not in refs


@pytest.mark.parametrize(("text", "key"), [
    ("We set board.autoArchive to true and boards still stay open.", "board.autoArchive"),
    ("The reminder_window setting in conf.py is parsed but never read.", "reminder_window"),
    ("Nobody reads the maxUploads option of the importer.", "maxUploads"),
])
def test_dotted_keys_set_to_a_value_and_names_called_settings_are_settings(
        text: str, key: str) -> None:
    refs = _refs(text)
    assert refs[("setting", key)] is False
    assert ("symbol", key) not in refs


def test_a_name_called_a_new_setting_is_created() -> None:
    assert _refs("A new reminder_window setting should cap it.").get(
        ("setting", "reminder_window"), True) is True


@pytest.mark.parametrize(("text", "label"), [
    ("On the purge page people tick 'Wipe archived boards' by mistake.", "Wipe archived boards"),
    ("Nothing changes when I toggle 'Compact rows'.", "Compact rows"),
    ("In the settings the field 'Remind me after' is in hours.", "Remind me after"),
    ("In the Sharing panel, 'Copy as image' gives a blank file.", "Copy as image"),
])
def test_labels_ticked_named_by_their_ui_noun_or_placed_on_screen_are_ui_text(
        text: str, label: str) -> None:
    assert ("ui_text", label) in _refs(text)


def test_an_optional_express_parameter_stays_in_its_route() -> None:
    refs = _refs("The limiter is mounted on /b/:board/:page?/print/:format today.")
    assert ("route", "/b/:board/:page?/print/:format") in refs
    assert not [k for k in refs if k[0] == "route" and k[1] != "/b/:board/:page?/print/:format"]


@pytest.mark.parametrize(("text", "ref", "creates"), [
    ("Mention the flag in CHANGES.md.", ("file", "CHANGES.md"), True),
    ("Document the option in docs/deploy.md and link it from the index.",
     ("file", "docs/deploy.md"), True),
    ("The steps in docs/deploy.md are out of date.", ("file", "docs/deploy.md"), False),
    ("Mention the limit in the error raised by billing/limits.py.",
     ("file", "billing/limits.py"), False),
])
def test_a_prose_file_named_as_where_a_note_goes_is_written_to(
        text: str, ref: tuple[str, str], creates: bool) -> None:
    assert _refs(text)[ref] is creates


def test_the_text_an_endpoint_answers_is_not_named_as_on_screen() -> None:
    refs = _refs("Make /ping answer 503 with the text 'degraded' when the queue is down.")
    assert not [k for k in refs if k[0] == "ui_text"]


@pytest.mark.parametrize(("text", "ref"), [
    ("The build history endpoint GET /api/v2/builds/{id}/log (`read_log()`) drops lines.",
     ("symbol", "read_log")),
    ("On the admin build page the 'Retry build' button does nothing.",
     ("ui_text", "Retry build")),
    ("Each pipeline's build uses `pack_wheel()` and fails on Windows.",
     ("symbol", "pack_wheel")),
])
def test_a_creation_verb_used_as_a_noun_is_no_cue(text: str, ref: tuple[str, str]) -> None:
    assert _refs(text)[ref] is False


@pytest.mark.parametrize(("text", "ref"), [
    ("On the tenant page (templates/add.html) the 'Archive tenant' button is greyed out.",
     ("ui_text", "Archive tenant")),
    ("GET /api/jobs/create-report (`report_job()`) times out.", ("symbol", "report_job")),
])
def test_a_cue_word_inside_a_path_is_no_cue(text: str, ref: tuple[str, str]) -> None:
    assert _refs(text)[ref] is False


@pytest.mark.parametrize(("text", "ref"), [
    ("Each user adds a filter with `pin_filter()`.", ("symbol", "pin_filter")),
    ("The team should build the `export_rows()` helper.", ("symbol", "export_rows")),
])
def test_a_creation_verb_with_its_object_still_creates(text: str, ref: tuple[str, str]) -> None:
    assert _refs(text)[ref] is True


def test_a_traitlets_option_set_in_a_config_file_is_a_setting() -> None:
    refs = _refs("We set c.Spawner.start_timeout = 120 in jupyterhub_config.py but spawns "
                 "still give up after 60 seconds.")
    assert refs[("setting", "Spawner.start_timeout")] is False
    assert ("symbol", "start_timeout") not in refs and ("symbol", "Spawner") not in refs


@pytest.mark.parametrize("text", [
    'The "Download all artifacts" link gives a 404 for builds that have no archive. It '
    "should bundle whatever artifacts the build has and only be shown for finished builds.",
    'The "Show all projects" link is broken. Only admins should see the projects.',
    "The \u201cShare with all members\u201d button fails. Only owners may share.",
])
def test_words_inside_a_quoted_name_take_no_side(text: str) -> None:
    assert contradictions(text) == []


def test_a_contradiction_beside_a_quoted_name_is_still_found() -> None:
    found = contradictions("The 'Members' tab is shown to all users. Only admins may see the "
                           "'Members' tab.")
    assert [c.why for c in found] == ["everyone / only"]


@pytest.mark.parametrize(("text", "ref"), [
    ('We added "maxLoginAttempts": 5 to our config.json, but nobody is ever locked out.',
     ("setting", "maxLoginAttempts")),
    ("I created `sync_all()` last week but it never runs.", ("symbol", "sync_all")),
])
def test_what_the_writer_already_did_exists(text: str, ref: tuple[str, str]) -> None:
    assert _refs(text)[ref] is False


@pytest.mark.parametrize("text", [
    "Every report endpoint must require a valid partner token, so nothing leaks. The "
    "uptime checker must keep calling the report endpoint without any credentials, as it "
    "does today.",
    "Anonymous read access to the catalogue must stay on for kiosks. No catalogue entry may "
    "be readable without a login.",
    "Anonymous poll creation has to be turned off for good. Visitors without an account "
    "should still be able to create a poll.",
    "The kiosk must stay open to any visitor without any kind of login. Every checkout at "
    "the kiosk has to be tied to an authenticated user account.",
])
def test_open_access_against_a_login_required(text: str) -> None:
    assert [c.why for c in contradictions(text)] == ["anonymous / signed in"]


@pytest.mark.parametrize("text", [
    "The health check must keep answering without any credentials, as it does today.",
    "Guests can browse the catalogue. Checkout requires a login.",
])
def test_one_rule_about_access_is_no_contradiction(text: str) -> None:
    assert contradictions(text) == []


def test_a_label_quoted_once_takes_no_side_where_it_stands_unquoted() -> None:
    assert contradictions('Show all members tab is empty.\nThe "Show all members" tab lists '
                          "nobody. It should only list active members.") == []


def test_a_path_after_a_parameter_is_part_of_the_longer_path() -> None:
    refs = _refs("GET comments/api/<content_type>/<object_pk>/count/ answers 500.")
    assert [n for k, n in refs if k == "route"] == [
        "comments/api/<content_type>/<object_pk>/count/"]


@pytest.mark.parametrize(("text", "setting"), [
    ("With codes such as 'SQLITE_BUSY' the handler crashes.", None),
    ("Jobs stuck in the status IN_PROGRESS are never retried.", None),
    ("The error handler ignores LOG_LEVEL.", "LOG_LEVEL"),
    ("Read the value of API_TOKEN from the environment.", "API_TOKEN"),
])
def test_an_upper_case_word_named_as_a_code_or_status_is_a_value(text: str,
                                                                  setting: str | None) -> None:
    assert [n for k, n in _refs(text) if k == "setting"] == ([setting] if setting else [])


@pytest.mark.parametrize(("text", "key"), [
    ("We set invoiceFooterNote in the billing config to print our terms, but nothing shows.",
     "invoiceFooterNote"),
    ("We enabled auto_archive in settings.py last week and nothing is archived.",
     "auto_archive"),
])
def test_a_name_set_in_a_configuration_is_a_setting(text: str, key: str) -> None:
    assert _refs(text)[("setting", key)] is False


def test_a_passive_creation_word_bears_on_its_own_clause_only() -> None:
    refs = _refs("When someone is added to a team, the owners get a mail rendered from "
                 "templates/team-owner-notice.html.")
    assert refs[("file", "templates/team-owner-notice.html")] is False
    assert _refs("A new export is added at /api/teams/export.")[
        ("route", "/api/teams/export")] is True
