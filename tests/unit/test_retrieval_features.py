"""Step 5's features of (request, candidate file) pairs on a small repository written
here, the fitted weights that weigh them (shipped, and refused when written for other
features), and the order they give."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support import indexed

from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.workflow.retrieval import (
    WEIGHTS_FILE,
    Linear,
    Weights,
    WeightsError,
    load_weights,
    parse_weights,
    rank,
    retrieve,
    seeds_of,
)
from ticketflow.workflow.retrieval_features import FEATURES, SEED_FEATURES, extend, gather

SHOP = {
    "shop/orders/views.py": """
from flask import Blueprint, render_template
from shop.orders.refunds import refund_order

orders = Blueprint("orders", __name__)

@orders.get("/orders/<int:order_id>")
def order_detail(order_id):
    return render_template("orders/detail.html", order=order_id)
""",
    "shop/orders/refunds.py": "def refund_order(order_id):\n    return order_id\n",
    "shop/templates/orders/detail.html": "<h1>Order details</h1>\n"
                                         "<button>Refund this order</button>\n",
    "shop/models.py": "from shop.db import db\n\nclass OrderLine(db.Model):\n"
                      "    __tablename__ = 'order_lines'\n",
    "shop/config.py": "import os\nTAX_RATE = float(os.getenv('TAX_RATE', '0.2'))\n"
                      "CURRENCY = os.getenv('CURRENCY', 'EUR')\n",
    "tests/test_orders.py": "def test_order_detail_refund():\n"
                            "    assert refund_order(1) == 1  # order refund detail\n",
    "docs/orders.md": "# Orders\nThe order details page shows a refund button.\n",
    "package-lock.json": "{}\n",
    "src/users.ts": "export function removeUser(id: string) { return id; }\n",
    "lib/users.js": "function removeUser(id) { return id; }\n",
}


@pytest.fixture
def shop(index: LibsqlRepoIndex, tmp_path: Path) -> str:
    return indexed(index, tmp_path, SHOP)


def test_direct_features_of_the_candidates(index: LibsqlRepoIndex, shop: str) -> None:
    text = "Refunding from the order details page must call refund_order() once."
    req = gather(index, shop, text, text)
    view, helper = req.rows["shop/orders/views.py"], req.rows["shop/orders/refunds.py"]
    assert helper["named"] == 1.0 and helper["named_symbol"] == 1.0
    assert helper["named_first"] == 1.0 and "named_closest" not in helper
    assert "named" not in view
    # the full-text ranking: the best hit scores 1, later ones less, each with its rank
    best = req.hits[0].path
    assert req.rows[best]["search_score"] == 1.0 and req.rows[best]["search_rank"] == 1.0
    assert all(0.0 < req.rows[h.path]["search_score"] <= 1.0 for h in req.hits)
    # request words in the path: "refund" and "order" (singular, path segments split)
    assert helper["stem_all"] == 1.0 and helper["path_words"] > 0
    assert req.rows["shop/templates/orders/detail.html"]["template"] == 1.0
    assert req.rows["shop/templates/orders/detail.html"]["ui_folder"] == 1.0
    assert view["code"] == 1.0 and "template" not in view
    test = req.rows["tests/test_orders.py"]
    assert test["demoted_test"] == 1.0 and 0.0 < test["demoted"] < 1.0
    assert "demoted" not in view
    for row in req.rows.values():
        assert set(row) <= set(SEED_FEATURES)
        assert all(0.0 < v <= 1.0 for v in row.values())


def test_entities_pages_settings_and_manifests(index: LibsqlRepoIndex, shop: str) -> None:
    lines = "Order lines keep their price after a refund."
    assert gather(index, shop, lines, lines).rows["shop/models.py"]["entity_model"] > 0
    page = "Show the shipping date on the order detail page."
    assert gather(index, shop, page, page).rows["shop/templates/orders/detail.html"]["page"] > 0
    window = "The refund window should be configurable per shop."
    req = gather(index, shop, window, window)  # config.py has none of its words
    assert req.rows["shop/config.py"]["settings_asked"] == 1.0
    plain = "Refunds show the tax rate."
    assert "settings_asked" not in gather(index, shop, plain, plain).rows["shop/config.py"]
    dependency = "Render the refund receipt with the weasyprint library."
    req = gather(index, shop, dependency, dependency)
    # the only manifest here is a lock file: it is no manifest, nothing is implied
    assert all(n.path != "package-lock.json" for n in req.named)


def test_a_compiled_copy_gives_way_to_its_source(index: LibsqlRepoIndex, shop: str) -> None:
    text = "removeUser should remove the user."
    req = gather(index, shop, text, text)
    assert "lib/users.js" not in req.rows and "src/users.ts" in req.rows


def test_neighbour_features_come_from_the_seeds(index: LibsqlRepoIndex, shop: str) -> None:
    text = "The order details page should show the refund date."
    req = gather(index, shop, text, text)
    extend(index, shop, req, {"shop/orders/views.py": 1.0})
    template = req.rows["shop/templates/orders/detail.html"]
    assert template["renders_out"] == 1.0  # the view renders it
    assert req.rows["shop/orders/refunds.py"]["import_out"] == 1.0
    assert req.rows["shop/orders/refunds.py"]["same_folder"] == 1.0
    assert "renders_in" not in template
    half = gather(index, shop, text, text)
    extend(index, shop, half, {"shop/orders/views.py": 0.5})
    assert half.rows["shop/templates/orders/detail.html"]["renders_out"] == 0.5


def test_the_template_of_the_view_the_request_names_is_told_apart(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {
        "forum/views.py": "from flask import render_template\n"
                          "def member_list():\n    return render_template('members.html')\n"
                          "def topic_detail():\n    return render_template('topic.html')\n",
        "forum/templates/members.html": "<h1>Members</h1>\n",
        "forum/templates/topic.html": "<h1>Topic</h1>\n",
    })
    text = "The member list should be sorted by join date."
    req = gather(index, repo, text, text)
    extend(index, repo, req, {"forum/views.py": 0.8})
    members, topic = (req.rows[f"forum/templates/{n}.html"] for n in ("members", "topic"))
    assert members["renders_out"] == topic["renders_out"] == 0.8  # the file renders both
    assert members["renders_view"] == 0.8  # "member list" is the view's whole name
    assert "renders_view" not in topic


def _weights(seed: dict[str, float], rank_weights: dict[str, float]) -> Weights:
    return Weights(
        seed=Linear(SEED_FEATURES, tuple(seed.get(n, 0.0) for n in SEED_FEATURES), 0.0),
        rank=Linear(FEATURES, tuple(rank_weights.get(n, 0.0) for n in FEATURES), 0.0),
        about={})


def test_the_score_is_the_weighted_sum_of_the_features(index: LibsqlRepoIndex,
                                                       shop: str) -> None:
    text = "Refunding from the order details page must call refund_order() once."
    named_first = _weights({"search_score": 1.0}, {"named": 5.0, "search_score": 1.0})
    ranked = rank(index, shop, text, text, named_first)
    assert ranked[0][0] == "shop/orders/refunds.py"
    req = gather(index, shop, text, text)
    extend(index, shop, req, seeds_of(req, named_first.seed))
    assert dict(ranked) == pytest.approx(
        {p: named_first.rank.score(row) for p, row in req.rows.items()})
    tests_first = _weights({}, {"demoted_test": 5.0})
    assert rank(index, shop, text, text, tests_first)[0][0] == "tests/test_orders.py"


def test_seeds_are_the_named_files_and_the_best_others(index: LibsqlRepoIndex,
                                                       shop: str) -> None:
    text = "Refunding from the order details page must call refund_order() once."
    req = gather(index, shop, text, text)
    seeds = seeds_of(req, Linear(SEED_FEATURES, tuple(
        1.0 if n == "search_score" else 0.0 for n in SEED_FEATURES), 0.0))
    assert "shop/orders/refunds.py" in seeds and req.hits[0].path in seeds
    assert max(seeds.values()) == 1.0 and all(0.0 < s <= 1.0 for s in seeds.values())


def test_the_shipped_weights_rank_sensibly(index: LibsqlRepoIndex, shop: str) -> None:
    weights = load_weights()
    assert weights.rank.names == FEATURES and weights.seed.names == SEED_FEATURES
    text = "Refunding from the order details page must call refund_order() once."
    hits = retrieve(index, shop, text, text, limit=6)
    top = [h.path for h in hits]
    assert top[0] == "shop/orders/refunds.py"  # defines the name the request gives
    assert "shop/orders/views.py" in top[:5]  # the view that calls it
    assert "package-lock.json" not in top
    # the code before its test, which uses the same words
    assert top.index("shop/orders/views.py") < (
        top.index("tests/test_orders.py") if "tests/test_orders.py" in top else len(top))
    assert all(0.0 < h.score < 1.0 for h in hits)  # probabilities, best first
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def _shipped() -> dict[str, object]:
    from importlib import resources

    text = resources.files("ticketflow.workflow").joinpath(WEIGHTS_FILE).read_text()
    doc: dict[str, object] = json.loads(text)
    return doc


def test_weights_for_other_features_are_refused() -> None:
    doc = _shipped()
    assert parse_weights(doc).rank.names == FEATURES
    fewer = json.loads(json.dumps(doc))
    fewer["features"] = fewer["features"][:-1]
    fewer["rank"]["weights"] = fewer["rank"]["weights"][:-1]
    with pytest.raises(WeightsError, match=f"missing: {FEATURES[-1]}.*w4_fit.py"):
        parse_weights(fewer)
    renamed = json.loads(json.dumps(doc))
    renamed["seed"]["features"][0] = "an_old_feature"
    with pytest.raises(WeightsError, match="unknown: an_old_feature"):
        parse_weights(renamed)
    swapped = json.loads(json.dumps(doc))
    swapped["features"][0], swapped["features"][1] = FEATURES[1], FEATURES[0]
    with pytest.raises(WeightsError, match="other order"):
        parse_weights(swapped)
    short = json.loads(json.dumps(doc))
    short["rank"]["weights"] = short["rank"]["weights"][:3]
    with pytest.raises(WeightsError, match="not a weights file"):
        parse_weights(short)
    with pytest.raises(WeightsError, match="not a weights file"):
        parse_weights({"features": list(FEATURES)})
