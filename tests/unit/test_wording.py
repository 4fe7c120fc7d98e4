"""The wording warnings (unmeasurable requirements, contradictions) on sentences
written here: each shape fires on its own example and stays quiet on a request that
only looks like it."""

from __future__ import annotations

import pytest

from ticketflow.domain import FindingKind, Severity
from ticketflow.preflight import validate_request
from ticketflow.preflight.conflicts import contradictions
from ticketflow.preflight.wording import unmeasurable
from ticketflow.samples import load_sample, sample_names

# the wording warnings each bundled sample request was written to get, and no other
SAMPLE_WORDING = {
    "invoice-csv-export": [("unmeasurable", "It should be fast for large lists.")],
    "invoice-pdf-typo": [("unmeasurable", "The download must be fast.")],
    "password-reset": [],
}


@pytest.mark.parametrize(("text", "why"), [
    ("Deleted projects must be recoverable from the trash. Deleting a project removes it "
     "permanently right away.", "permanent / reversible"),
    ("The export must include archived tasks. Archived tasks must not appear in the "
     "export.", "included / left out"),
    ("Uploads are limited to 10 MB. Users must be able to upload videos of up to 50 MB.",
     "two amounts for one thing"),
    ("Passwords must be at least 12 characters long. An 8-character password must be "
     "accepted.", "two amounts for one thing"),
    ("The report is sent every Monday morning. The report must be sent as soon as a "
     "ticket closes.", "immediately / later in a batch"),
    ("The dark mode toggle must be on by default. New users start with dark mode "
     "switched off.", "enabled / disabled"),
    ("Guests can browse the catalogue without an account. The catalogue must be visible "
     "to signed-in customers.", "anonymous / signed in"),
    ("Each order has exactly one shipping address. Customers must be able to split an "
     "order across several shipping addresses.", "one / several"),
    ("Invoices must be numbered automatically. Accountants type each invoice number by "
     "hand.", "automatic / manual"),
    ("Email addresses must be unique. Two accounts may share the same email address.",
     "unique / shared"),
    ("The API should respond synchronously. The work must be done in a background job.",
     "synchronous / asynchronous"),
    ("All users can export data. Exporting data must be restricted to admins.",
     "everyone / only"),
    ("The dashboard should show archived projects. Archived projects should not show on "
     "the dashboard.", "can / cannot"),
    ("Comments are visible to everyone. Comments must be hidden from people outside the "
     "team.", "shown / hidden"),
    ("The title field is optional. A post cannot be published without a title.",
     "optional / required"),
    ("Ticket descriptions must be editable by the reporter. Descriptions are read-only "
     "once a ticket is filed.", "editable / read-only"),
    ("Comments are shown newest first. Comments must be listed oldest first.",
     "ascending / descending"),
    ("Notes are soft-deleted. Deleting a note must be permanent.", "permanent / reversible"),
    ("Remind the user only once. Send the reminder every time the user opens the page.",
     "once / every time"),
])
def test_each_shape_of_contradiction(text: str, why: str) -> None:
    found = contradictions(text)
    assert why in [c.why for c in found]
    hit = next(c for c in found if c.why == why)
    for part in hit.evidence.split(" … "):
        assert part in text


@pytest.mark.parametrize("text", [
    # a restriction of what the first sentence allows, not its opposite
    "Users must be able to upload files. Users must not upload files over 10 MB.",
    # someone else may not
    "Admins can delete comments. Members cannot delete comments of other members.",
    "Add a CSV export of the task list. The export must not include deleted tasks.",
    # a change from the current value to a new one
    "Tokens currently expire after one day. Make them last seven days.",
    "Show the last 20 orders on the dashboard. Older orders stay available on the "
    "orders page.",
    "Only show the archive button to project owners.",
])
def test_requests_that_only_look_contradictory(text: str) -> None:
    assert contradictions(text) == []


@pytest.mark.parametrize(("sentence", "term"), [
    ("Uploading large files should work well.", "work well"),
    ("The page takes forever to load.", "takes forever"),
    ("Show a helpful error when the import fails.", "helpful"),
    ("Validation must be stricter.", "stricter"),
    ("Old notifications should be cleaned up.", "Old notifications"),
    ("Send a reminder a few days before the due date.", "a few days"),
    ("Logs should be kept for a while.", "for a while"),
    ("Increase the upload size limit.", "Increase the upload size"),
    ("Sessions should last longer.", "longer"),
    ("Speed up the product list.", "Speed up"),
    ("The import must handle big CSV files.", "big CSV files"),
    ("Sync the notes regularly.", "regularly"),
    ("The editor should be easy for new members.", "easy"),
    ("The API must cope with high traffic.", "high traffic"),
])
def test_weak_words_and_open_amounts(sentence: str, term: str) -> None:
    assert [(u.term, u.sentence) for u in unmeasurable(sentence)] == [(term, sentence)]


def test_an_amount_given_anywhere_settles_a_change_and_the_title() -> None:
    description = "Raise the upload limit. Files of up to 200 MB must be accepted."
    assert unmeasurable(description, "Bigger uploads") == []
    assert [u.sentence for u in unmeasurable("Raise the upload limit.", "Bigger uploads")] \
        == ["Bigger uploads", "Raise the upload limit."]
    # a quality word is still vague next to an unrelated number
    assert [u.term for u in unmeasurable("The 3 reports should load faster.")] == []
    assert [u.term for u in unmeasurable("Reports should load faster. Keep 3 tabs.")] \
        == ["faster"]


def test_a_number_measures_only_its_own_clause() -> None:
    found = unmeasurable("It must load fast and the list must never show more than 50 tags.")
    assert [u.term for u in found] == ["fast"]
    assert unmeasurable("Exports must finish fast, within 5 seconds.") == []
    assert unmeasurable("Uploads must be quick: under 2 seconds for 10 MB.") == []


def test_all_of_something_against_a_cap_is_a_contradiction_but_paging_is_not() -> None:
    found = contradictions("The dashboard must list every invoice. The dashboard must show "
                           "no more than 20 invoices.")
    assert [c.why for c in found] == ["all / at most"]
    assert contradictions("Show all comments of a post. Each page must show at most 20 "
                          "comments.") == []
    assert contradictions("All users can upload up to 5 files.") == []
    assert contradictions("Every export must include all columns. Exports are limited to "
                          "10 MB.") == []
    assert contradictions("Admins can see all users. Each team can have at most 10 "
                          "users.") == []  # another subject and action


@pytest.mark.parametrize(("text", "why"), [
    ("Scores must be whole numbers from now on. Judges still need to give a score of 7.5 "
     "for a tie, so that has to keep working.", "whole numbers / fractions"),
    ("Only owners may delete boards. Team leads should be able to remove boards of their "
     "team without asking.", "only some / others too"),
    ("Every download must be logged, with no exceptions. Files that are marked public "
     "must keep downloading without a log entry.", "no exceptions / an exception"),
])
def test_exceptions_to_a_rule_are_contradictions(text: str, why: str) -> None:
    assert [c.why for c in contradictions(text)] == [why]


@pytest.mark.parametrize("text", [
    "Scores keep coming in as 7.5 from old clients. Scores must be whole numbers.",
    "Only owners may delete boards. Team leads should be able to rename boards.",
    "Every download must be logged in every case. Existing downloads must keep working.",
])
def test_a_rule_and_something_else_are_no_contradiction(text: str) -> None:
    assert contradictions(text) == []


def test_please_also_after_a_rule_without_exception_is_its_override() -> None:
    found = contradictions("For privacy the barn screen must show only tag numbers, never "
                           "owner names. Please also show each owner's name next to the tag "
                           "numbers on that screen.")
    assert [c.why for c in found] == ["'only' / 'Please also'"]
    found = contradictions("Exports must stay switched off and no herd may be exported. "
                           "Vets must still be able to download a herd's export as a file.")
    assert [c.why for c in found] == ["'no herd may be' / 'must still'"]
    # an addition about other things is no exception
    assert contradictions("Every invoice must carry a number. Please also add a due date "
                          "field to the form.") == []


def test_a_one_that_counts_nothing_measures_nothing() -> None:
    assert [u.term for u in unmeasurable("Give the menu a friendlier look so it can be used "
                                         "with one hand.")] == ["friendlier"]
    assert unmeasurable("Make the menu friendlier: one tap opens it.") == []


def test_keeping_behaviour_as_it_is_today_is_a_requirement_not_a_description() -> None:
    found = contradictions("Keep the invoice list paginated with its page size menu just as it "
                           "works today. Also show all invoices in one long list.")
    assert [c.why for c in found] == ["all at once / paged"]
    # how things are now, against the change asked: no contradiction
    assert contradictions("Invoices are currently paged. Show all invoices in one long "
                          "list.") == []
    # kept as it is today only under a condition: the change is for the other case
    assert contradictions("Add an optional flag that compresses the export. Without the "
                          "flag the export must stay exactly as it is today.") == []


@pytest.mark.parametrize(("sentence", "term"), [
    ("Switch to the mail provider that legal chose last month.",
     "the mail provider that legal chose"),
    ("Retry failed uploads following the schedule in the client's contract.",
     "in the client's contract"),
    ("Apply the same retention rule we use on the other servers.",
     "the same retention rule we use"),
])
def test_a_value_pointed_at_instead_of_given_is_missing(sentence: str, term: str) -> None:
    assert [(u.term, u.missing) for u in unmeasurable(sentence)] == [(term, "source")]


def test_a_value_described_in_place_is_not_missing() -> None:
    assert unmeasurable("Switch to the mail provider that has the lowest price per "
                        "message.") == []


def test_a_value_pointed_at_is_a_missing_information_warning() -> None:
    found = validate_request("Change the mail provider", "Switch to the mail provider that "
                             "legal chose last month.", repo=None, index=None)
    assert [(f.kind, f.severity) for f in found if "does not give" in f.message] == [
        (FindingKind.MISSING_INFORMATION, Severity.WARNING)]


@pytest.mark.parametrize(("sentence", "term"), [
    ("Expired carts should be handled according to our data retention policy.",
     "according to our data retention policy"),
    ("Remove idle boards and warn their owners beforehand as agreed with finance.",
     "as agreed with finance"),
    ("Limit the export to the roles the audit committee approved.",
     "the roles the audit committee approved"),
])
def test_more_values_pointed_at_instead_of_given(sentence: str, term: str) -> None:
    assert [(u.term, u.missing) for u in unmeasurable(sentence)] == [(term, "source")]


@pytest.mark.parametrize(("sentence", "term"), [
    ("Add a parser for the new feed format that partners asked about in May.",
     "the new feed format that partners asked about"),
    ("Add the extra report layout the customer requested, with its own print styles.",
     "the extra report layout the customer requested"),
    ("Apply the discount tier which sales wanted to every renewal.",
     "the discount tier which sales wanted"),
])
def test_a_wish_or_request_made_elsewhere_is_pointed_at(sentence: str, term: str) -> None:
    assert [(u.term, u.missing) for u in unmeasurable(sentence)] == [(term, "source")]


@pytest.mark.parametrize(("sentence", "term"), [
    ("Delete old invoices after the period agreed with the auditors.",
     "the period agreed with the auditors"),
    ("Add the export formats they asked for to the reports page.",
     "the export formats they asked for"),
    # a date beside it ("last week's") gives no value
    ("Use the colour picked in last week's design review for the banner.",
     "the colour picked in last week's design review"),
    ("Add the badges the support team collected from users.",
     "the badges the support team collected"),
    ("Please set the default to what the finance board agreed.",
     "the default to what the finance board agreed"),
    ("Delete closed boards after the agreed retention period.", "the agreed retention period"),
    ("Please accept the invoice number format the supplier uses.",
     "the invoice number format the supplier uses"),
])
def test_a_decision_or_need_named_by_who_had_it_is_pointed_at(sentence: str,
                                                              term: str) -> None:
    assert [(u.term, u.missing) for u in unmeasurable(sentence)] == [(term, "source")]


def test_a_choice_made_on_screen_is_not_pointed_at() -> None:
    assert unmeasurable("Keep the value selected in the filter when the page reloads.") == []
    assert unmeasurable("Show users the files they uploaded.") == []
    # a tool of this code base, named by who uses it: it is there to read
    assert unmeasurable("Upgrade the markdown library we use to version 3.") == []
    # the state of a thing, not a decision made elsewhere
    assert unmeasurable("Include the requested method and path in the error body.") == []


def test_a_fault_someone_reported_is_not_a_value_pointed_at() -> None:
    assert unmeasurable("Fix the crash the tester reported on the upload page.") == []
    # "the selected" qualifies a value, nobody chose it elsewhere
    assert unmeasurable("Please keep the sort order and the selected filter per board.") == []


@pytest.mark.parametrize("sentence", [
    "The relevant people need to be told when a shipment is lost.",
    "Notify the appropriate team when the sync fails.",
])
def test_recipients_left_open_are_missing_information(sentence: str) -> None:
    assert [u.missing for u in unmeasurable(sentence)] == ["scope"]
    found = validate_request("Tell people", sentence, repo=None, index=None)
    assert [f.kind for f in found if f.kind in (FindingKind.MISSING_INFORMATION,
                                                FindingKind.UNMEASURABLE)] == [
        FindingKind.MISSING_INFORMATION]


def test_named_recipients_are_not_missing() -> None:
    assert unmeasurable("Notify the billing team by e-mail when the sync fails.") == []


@pytest.mark.parametrize(("text", "why"), [
    ("Make sure the oldest archive is always kept. Pressing 'Clear' must still leave "
     "the archive list empty.", "kept / deleted"),
    ("Allow PATCH /boards/:id with the viewer key as well. The viewer key is public, so "
     "it must never be able to patch boards.", "allowed / forbidden"),
    ("A new shift can only be opened after the previous one has closed. Managers need to "
     "open a cover shift for a nurse without closing the running shift.",
     "only after / without"),
    ("Every scan must be compressed to grey scale before it is stored. Auditors need the "
     "stored scan to remain unchanged to the original upload.", "changed / unchanged"),
])
def test_more_contradiction_shapes(text: str, why: str) -> None:
    assert why in [c.why for c in contradictions(text)]


@pytest.mark.parametrize("text", [
    "A new shift can only be opened after the previous one has closed. Show who closed it.",
    "Allow admins to archive boards. Archived boards stay searchable.",
    "Scans are compressed before they are stored. Show the file size in the list.",
])
def test_near_misses_of_those_shapes_are_no_contradiction(text: str) -> None:
    assert contradictions(text) == []


def test_a_purpose_clause_is_not_how_things_are_now() -> None:
    text = ("Every photo must be resized to 512 pixels before upload. The archive team "
            "needs the stored photo to stay identical to the original so their audit "
            "keeps passing.")
    assert "changed / unchanged" in [c.why for c in contradictions(text)]


def test_rotating_and_refreshing_are_one_action_kept_to_some() -> None:
    text = ("Only team owners may regenerate webhook secrets. Members must still be able "
            "to rotate their own webhook secret when it leaks.")
    assert "only some / others too" in [c.why for c in contradictions(text)]


@pytest.mark.parametrize("sentence", [
    "As an accountant I want to export the list to a CSV file, so that I can reconcile "
    "them in a spreadsheet.",
    "Add a download button so that we can check the totals in the finance spreadsheet.",
    "Keep the export as it is and put a copy in a shared wiki page.",
])
def test_a_place_named_in_a_purpose_or_without_the_is_not_a_value_pointed_at(
        sentence: str) -> None:
    assert [u for u in unmeasurable(sentence) if u.missing == "source"] == []


@pytest.mark.parametrize("name", sample_names())
def test_the_bundled_samples_get_only_the_warnings_they_were_written_with(name: str) -> None:
    """What a new user sees first: ``make demo`` runs the first of these."""
    sample = load_sample(name)
    found = [(f.kind.value, f.evidence) for f in validate_request(
        sample.title, sample.description, repo=None, index=None)
        if f.kind.value in {"missing_information", "unmeasurable", "contradiction"}]
    assert found == SAMPLE_WORDING[name]


@pytest.mark.parametrize(("text", "term"), [
    ("The importer runs 3 times a night. can we make the importer lighter so it stays out "
     "of the way?", "lighter"),
    ("GET /api/v2/boards/search should answer much quicker.", "quicker"),
    ("Please make the sync job more efficient on the SHA256 step.", "efficient"),
])
def test_comparatives_asked_for_and_digits_inside_names_measure_nothing(text: str,
                                                                      term: str) -> None:
    assert term in [u.term for u in unmeasurable(text)]


def test_a_comparative_after_make_needs_to_end_its_object() -> None:
    assert unmeasurable("Make the uploader skip hidden files.") == []
    assert unmeasurable("Please make the sweep use BoardManager.purge() so it works with "
                        "every store.") == []


def test_a_describing_clause_beside_an_asking_one_is_no_requirement() -> None:
    text = ("Please apply the 20 minute lock to API logins too; lock_after_attempts etc. "
            "on the same page work fine.")
    assert unmeasurable(text) == []


def test_sentences_written_in_lower_case_are_still_sentences() -> None:
    found = unmeasurable("hi - we run the nightly report for each team. could you make "
                         "the report faster? we keep the 10 boards per page.")
    assert [u.sentence for u in found] == ["could you make the report faster?"]


@pytest.mark.parametrize(("sentence", "missing"), [
    ("Stale invites should be removed automatically at some point.", "scope"),
    ("Failed exports should be retried and someone should be told when one keeps failing.",
     "scope"),
    ("Stuck sync jobs should be dealt with automatically.", "behaviour"),
])
def test_when_who_or_what_happens_left_open_is_missing_information(sentence: str,
                                                                  missing: str) -> None:
    assert [u.missing for u in unmeasurable(sentence)] == [missing]


def test_when_who_and_what_happens_given_are_not_missing() -> None:
    assert unmeasurable("Stale invites must be removed by the 02:00 cleanup job. Notify the "
                        "owner by e-mail, and a failed sync is retried 3 times.") == []


@pytest.mark.parametrize(("text", "why"), [
    ("From now on every member must have a recovery code. Existing members must not be "
     "forced to do anything and keep signing in with their current codes.",
     "every one / existing ones exempt"),
    ("Tokens of the display boards must never expire. The tokenLifetime stays at 3600 "
     "seconds for every device, with no exceptions.", "never expires / expires for all"),
    ("Guests with a board link must be able to view it without logging in. "
     "requireLogin must stay on for every page, boards included.", "anonymous / signed in"),
    ("Teams must be able to keep as many boards as they like, with no cap at all. "
     "TEAM_BOARD_LIMIT stays at 40 and keeps being enforced.", "unlimited / limited"),
])
def test_contradictions_in_code_names_and_exemptions(text: str, why: str) -> None:
    assert why in [c.why for c in contradictions(text)]


@pytest.mark.parametrize("text", [
    "From now on every member must have a recovery code. Existing members get a reminder.",
    "Tokens of the display boards must never expire. Show the tokenLifetime on the page.",
    "The sync keeps failing on Mondays. It must be retried.",
])
def test_near_misses_of_exemptions_and_expiry_are_no_contradiction(text: str) -> None:
    assert contradictions(text) == []


def test_something_removed_completely_and_still_used_is_a_contradiction() -> None:
    text = ("Remove the 'Log in with' Gitea button from the sign-in page completely. People "
            "who joined through Gitea must still be able to log in from the sign-in page.")
    assert "removed completely / still used" in [c.why for c in contradictions(text)]
    assert contradictions("Remove the legacy export completely. Admins must still be able "
                          "to download invoices.") == []


def test_leaving_a_required_thing_out_by_any_verb_is_optional() -> None:
    found = contradictions("Keep the reason field mandatory for all refunds, and also let "
                           "clerks file refunds without typing any reason.")
    assert [c.why for c in found] == ["optional / required"]
    # doing something without a thing the request never makes required is no conflict
    assert contradictions("Let clerks file refunds without typing any note. Refunds over "
                          "a limit go to a manager.") == []


@pytest.mark.parametrize("text", [
    "The archive page must stay hidden for every visitor, with no exceptions. At the same "
    "time, editors need to show the archive page to visitors from the menu.",
    "Guests must never keep uploaded photos after they sign out. We also want guests to "
    "keep their uploaded photos for a week.",
    "Replies must always go to the ticket's owner. Replies to closed tickets should still "
    "go to the team inbox, even when the owner is set.",
])
def test_an_absolute_rule_then_its_override_is_a_contradiction(text: str) -> None:
    found = contradictions(text)
    assert found and all(c.evidence.count("…") == 1 for c in found)


@pytest.mark.parametrize("text", [
    # an override marker about something else
    "Every invoice must show its due date. At the same time, fix the typo in the footer.",
    # no rule without exception before it
    "Show the due date on invoices. Invoices should still open from the e-mail link.",
    # the marker before the rule
    "At the same time as the release, publish the notes. Every note must be reviewed.",
])
def test_an_exception_marker_alone_is_no_contradiction(text: str) -> None:
    assert contradictions(text) == []



def test_a_fault_on_something_unnamed_leaves_out_which() -> None:
    # the input a fault happens on, pointed at instead of given
    assert [(u.term, u.missing) for u in unmeasurable(
        "The barn import fails on the file the customer sent us yesterday. "
        "Please fix the import.")] == [("the file the customer sent us", "source")]
    # which of them fail, left open ("One" counts nothing here, capital or not)
    for text, term in (("One of our milking robots fails to sync at night. Please fix it.",
                        "One of our milking robots"),
                       ("The herd report fails for some of the barns we run. Fix that.",
                        "some of the barns")):
        assert [(u.term, u.missing) for u in unmeasurable(text)] == [(term, "scope")]
    # a fault with everything named, and a wish that is no fault, are no finding
    assert unmeasurable("The barn import fails on files with a BOM. Please strip it.") == []
    assert unmeasurable("Some of the barns want a larger map. Add a zoom button.") == []


def test_a_wish_with_its_object_before_to_asks() -> None:
    assert [(u.term, u.missing) for u in unmeasurable(
        "We want herd managers to get milk data from the feed service we discussed.")] == [
        ("the feed service we discussed", "source")]
