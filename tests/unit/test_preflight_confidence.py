"""How sure step 3 is before it stops a run: which words are claims about code, which
ones ask to create something, which missing things are only worth a warning, and the
wording warnings' evidence, on requests and small repositories written here."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support import indexed

from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.domain import Finding, FindingKind, Severity
from ticketflow.preflight import extract_references, validate_request
from ticketflow.preflight.conflicts import contradictions
from ticketflow.preflight.wording import unmeasurable

SHOP = {
    "shop/cart.py": """class CartStore:
    def add_line(self, sku):
        return sku

def price_of(sku):
    return 1
""",
    "web/router.ts": """import { Router } from 'express';
import * as orders from './orders';
const router = Router();
router.use('/orders', orders.create(db));
export default router;
""",
    "web/orders.ts": """import { Router } from 'express';
export function create(db) {
  const router = Router();
  router.get('/:shopId/:orderId', (q, r) => r.json({}));
  return router;
}
""",
    "config.json": '{"checkout": {"maxLines": 50}}',
    "web/CartPanel.jsx": """export function CartPanel() {
  return <div><button>Empty cart</button></div>;
}
""",
}


def _refs(text: str) -> dict[tuple[str, str], bool]:
    return {(r.kind, r.name): r.creates for r in extract_references(text)}


def _findings(index: LibsqlRepoIndex, repo: str, description: str) -> list[Finding]:
    return validate_request("A request", description, repo=repo, index=index)


def _by_severity(found: list[Finding], severity: Severity) -> list[str]:
    return [f.message for f in found if f.severity is severity]


# -- which words are claims ------------------------------------------------------------------


def test_paths_with_a_parameter_or_after_a_page_noun_are_routes() -> None:
    refs = _refs("Staff who open /shops/<shop_id>/refund/ see a 403. The Billing page at "
                 "/account/billing is blank. Let /ping answer faster.")
    assert ("route", "/shops/<shop_id>/refund/") in refs
    assert ("route", "/account/billing") in refs
    assert ("route", "/ping") not in refs  # a bare path with nothing saying it is a route


def test_members_of_a_class_and_configuration_keys_are_claims() -> None:
    refs = _refs("When CartStore.merge_lines finds nothing it should log. The limit in "
                 "checkout:maxLines is ignored. We deploy with Socket.io on Vercel.")
    assert ("symbol", "CartStore.merge_lines") in refs
    assert ("setting", "checkout:maxLines") in refs
    assert not [r for r in refs if "Socket" in r[1]]


@pytest.mark.parametrize(("text", "ref"), [
    ("Show a 'Resend code' link under the form.", ("ui_text", "Resend code")),
    ("Make the size configurable through a CART_MAX_LINES environment variable.",
     ("setting", "CART_MAX_LINES")),
    ("Make the size configurable via CART_MAX_LINES.", ("setting", "CART_MAX_LINES")),
    ("Split `price_of()` into `base_price()` and `tax_of()`.", ("symbol", "tax_of")),
    ("Call it `merge_carts()` and keep it next to the cart code.", ("symbol", "merge_carts")),
    ("Move `price_of()` to pricing/rules.py.", ("file", "pricing/rules.py")),
    ("After checkout, show a 'Thank you' banner.", ("ui_text", "Thank you")),
])
def test_a_name_being_given_is_something_to_create(text: str, ref: tuple[str, str]) -> None:
    assert _refs(text)[ref] is True


@pytest.mark.parametrize(("text", "ref"), [
    ("There is a 'Resend code' link under the form that does nothing.",
     ("ui_text", "Resend code")),
    ("Clicking a 'Resend code' link does nothing.", ("ui_text", "Resend code")),
    ("Under the form, a 'Resend code' link opens an empty page.", ("ui_text", "Resend code")),
    ("Split `price_of()` into two functions.", ("symbol", "price_of")),
    ("The `merge_carts()` helper drops lines.", ("symbol", "merge_carts")),
])
def test_a_name_said_to_be_there_is_a_claim_of_existence(text: str,
                                                         ref: tuple[str, str]) -> None:
    assert _refs(text)[ref] is False


# -- what is missing, and how sure ---------------------------------------------------------


def test_runtime_names_and_bare_camel_case_words_do_not_stop_a_run(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, SHOP)
    found = _findings(index, repo, "Keep the open cart in localStorage and clear it with "
                                   "setTimeout after an hour. Reset isCheckingOut as well.")
    assert _by_severity(found, Severity.CRITICAL) == []
    assert [f.severity for f in found if "isCheckingOut" in f.message] == [Severity.WARNING]


def test_names_called_or_taken_from_a_file_are_confident_claims(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, SHOP)
    critical = _by_severity(_findings(
        index, repo, "After checkout, call refreshCartTotals from shop/cart.py."),
        Severity.CRITICAL)
    assert any("refreshCartTotals" in m for m in critical)
    critical = _by_severity(_findings(index, repo, "CartStore.merge_lines drops the "
                                                   "quantity."), Severity.CRITICAL)
    assert any("CartStore.merge_lines" in m for m in critical)
    assert _by_severity(_findings(index, repo, "CartStore.add_line drops the quantity."),
                        Severity.CRITICAL) == []


def test_a_route_under_a_mount_the_index_could_not_follow_is_a_warning(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, SHOP)
    found = _findings(index, repo, "GET /orders/:shopId/:orderId answers 500 for a "
                                   "cancelled order.")
    assert _by_severity(found, Severity.CRITICAL) == []
    assert [f.kind for f in found if f.severity is Severity.WARNING] == [
        FindingKind.MISSING_ROUTE]
    # a fixed word where the router has a parameter is not the same route
    critical = _by_severity(_findings(index, repo, "GET /orders/:shopId/:orderId/refunds "
                                                   "answers 500."), Severity.CRITICAL)
    assert any("/refunds" in m for m in critical)


def test_configuration_keys_exist_by_their_last_part(index: LibsqlRepoIndex,
                                                     tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, SHOP)
    assert _by_severity(_findings(index, repo, "config.json has checkout:maxLines, but it "
                                               "is ignored."), Severity.CRITICAL) == []
    critical = _by_severity(_findings(index, repo, "config.json has checkout:maxWeight, but "
                                                   "it is ignored."), Severity.CRITICAL)
    assert any("checkout:maxWeight" in m for m in critical)


def test_a_request_to_create_things_yields_no_critical(index: LibsqlRepoIndex,
                                                       tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, SHOP)
    found = _findings(index, repo, "Put a 'Save for later' button in the CartPanel, backed "
                                   "by a `saved_for_later` column and a CART_SAVE_DAYS "
                                   "setting. The button should read 'Keep' instead of "
                                   "'Empty cart'.")
    assert _by_severity(found, Severity.CRITICAL) == []


# -- wording ------------------------------------------------------------------------------


def test_who_or_when_left_open_is_missing_information() -> None:
    found = unmeasurable("Checkout fails for certain customers. Please look at it.")
    assert [(u.sentence, u.missing) for u in found] == [
        ("Checkout fails for certain customers.", "scope")]
    assert unmeasurable("Checkout fails for customers with an empty address line.") == []
    assert unmeasurable("Several customers asked for a gift wrap option.") == []  # a wish


def test_a_fault_named_with_nothing_about_it_is_missing_information() -> None:
    assert [(u.term, u.missing) for u in unmeasurable("The gift card page is broken.")] == [
        ("is broken", "behaviour")]
    assert unmeasurable("The gift card page is broken for cards with a zero balance.") == []
    assert unmeasurable("The 'Redeem' button does nothing.") == []
    # a title names the fault in short when the description says what happens
    assert unmeasurable("Redeeming shows a blank page.", "Gift cards are broken") == []


def test_a_weak_word_that_sets_the_scene_is_not_a_requirement() -> None:
    text = "Syncing a big catalogue is slow. The sync should skip unchanged products."
    assert unmeasurable(text) == []
    assert [u.term for u in unmeasurable("Syncing a big catalogue is slow.")] == ["slow"]
    assert [u.sentence for u in unmeasurable("The catalogue is big. The sync should be "
                                             "faster.")] == ["The sync should be faster."]


@pytest.mark.parametrize(("text", "why"), [
    ("Coupons must stay in the basket after checkout. Checkout should remove them from the "
     "basket at once.", "kept / deleted"),
    ("Carts are kept in memory only, so each restart starts from an empty state. Carts "
     "must survive a restart.", "kept in memory / persisted"),
    ("The status page should answer only once every payment provider has replied. It must "
     "answer immediately.", "waits for / answers at once"),
    ("Refresh the rates once all suppliers have answered. The rates must refresh "
     "immediately.", "waits for / answers at once"),
    ("Baskets should allow unlimited lines. Keep the current cap on lines per basket.",
     "unlimited / limited"),
    ("Admins should archive a shop when asked. Shops with open orders must never be "
     "archivable.", "can / cannot"),
])
def test_more_shapes_of_contradiction(text: str, why: str) -> None:
    found = contradictions(text)
    assert [c.why for c in found] == [why]
    for part in found[0].evidence.split(" … "):
        assert part in text


@pytest.mark.parametrize("text", [
    "The order list currently shows the oldest orders first, but buyers expect the newest "
    "first.",
    "Coupons stay in the basket. Remove the expired ones from the report.",
    "Carts are saved to disk. Keep the in-memory cache small.",
    "Reviews are shown oldest first. Show the newest first.",
    "Gift cards are private. Let customers make a gift card public.",
    "Show the stock next to the price. Hide the stock when tracking is off.",
])
def test_the_way_things_are_against_a_wish_is_no_contradiction(text: str) -> None:
    assert contradictions(text) == []


def test_a_route_suggestion_shares_a_word_with_the_route_asked_for(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {"web/notes.ts": """import { Router } from 'express';
const router = Router();
router.get('/:noteId/create', (q, r) => r);
router.get('/reports/daily', (q, r) => r);
export default router;
"""})
    assert index.lookup(repo, "route", "GET /note/:pk/restore").closest is None
    assert index.lookup(repo, "route", "GET /daily/report").closest == "GET /reports/daily"


def test_a_file_the_documentation_tells_people_to_write_is_known(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {
        **SHOP, "README.md": "# Shop\n\nStart it with `shop({users: require('users.json')})`.\n"})
    found = _findings(index, repo, "Passwords in users.json are compared in plain text.")
    assert _by_severity(found, Severity.CRITICAL) == []
    critical = _by_severity(_findings(index, repo, "Passwords in admins.json are compared in "
                                                   "plain text."), Severity.CRITICAL)
    assert any("admins.json" in m for m in critical)
    # a path with folders is still looked for in the code only
    critical = _by_severity(_findings(index, repo, "The form in views/users.json.html is "
                                                   "broken."), Severity.CRITICAL)
    assert any("views/users.json.html" in m for m in critical)


def test_a_missing_member_of_a_named_object_is_a_confident_claim(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, SHOP)
    critical = _by_severity(_findings(index, repo, "The bulk action, handled by "
                                                   "exports.bulkDelete, removes every row."),
                            Severity.CRITICAL)
    assert any("bulkDelete" in m for m in critical)


def test_a_path_handed_to_a_framework_without_its_slash_is_spelled(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {
        **SHOP, "web/main.ts": "const doc = SwaggerModule.createDocument(app, config);\n"
                               "SwaggerModule.setup('api/docs', app, doc);\n"})
    assert _by_severity(_findings(index, repo, "The docs at /api/docs load slowly."),
                        Severity.CRITICAL) == []
    critical = _by_severity(_findings(index, repo, "The docs at /api/manual load slowly."),
                            Severity.CRITICAL)
    assert any("/api/manual" in m for m in critical)


def test_a_name_at_the_end_of_a_library_module_path_is_not_a_confident_claim(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, SHOP)
    found = _findings(index, repo, "Check the address with django.core.validators."
                                   "validate_email before sending.")
    assert _by_severity(found, Severity.CRITICAL) == []


def test_a_name_work_is_handed_off_to_is_a_confident_claim(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, SHOP)
    critical = _by_severity(_findings(index, repo, "The nightly job calls price_of, which "
                                                   "hands off to purgeStaleCarts and drops "
                                                   "every cart."), Severity.CRITICAL)
    assert any("purgeStaleCarts" in m for m in critical)
