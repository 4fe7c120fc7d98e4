"""Step 5's structural neighbours on small repositories written here: companion
modules of a package, a file's stem family, create and edit forms beside a detail
page, files named like an entity in every layer, entry files for application-wide
requests, and test setup that declares routes too."""

from __future__ import annotations

from pathlib import Path

from tests.support import indexed

from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.repo_index.paths import compiled_sources, demotion
from ticketflow.workflow.retrieval import retrieve
from ticketflow.workflow.retrieval_features import extend, gather

DJANGO_APP = {
    "desk/__init__.py": "",
    "desk/models.py": "from django.db import models\nclass Ticket(models.Model):\n"
                      "    title = models.CharField(max_length=200)\n",
    "desk/forms.py": "from django import forms\nclass TicketForm(forms.Form):\n"
                     "    email = forms.EmailField(required=True)\n",
    "desk/admin.py": "from django.contrib import admin\n",
    "desk/query.py": "def ticket_queryset(user):\n    return []\n",
    "desk/urls.py": "from django.urls import path\nfrom desk.views import public\n"
                    "urlpatterns = [path('submit/', public.submit_ticket)]\n",
    "desk/views/__init__.py": "",
    "desk/views/public.py": "from django.shortcuts import render\n"
                            "def submit_ticket(request):\n"
                            "    return render(request, 'desk/public_submit.html')\n",
    "desk/views/staff.py": "from django.shortcuts import render\n"
                           "def ticket_list(request):\n"
                           "    return render(request, 'desk/ticket_list.html')\n",
    "desk/templates/desk/public_submit.html": "<form>Submit a ticket</form>\n",
    "desk/templates/desk/ticket_list.html": "<table>Tickets</table>\n",
}

REACT_ADMIN = {
    "src/routes/tags/tag-detail/tag-detail.tsx":
        "export const TagDetail = () => <div>Tag detail page</div>;\n",
    "src/routes/tags/tag-create/components/tag-create-form/tag-create-form.tsx":
        "export const TagCreateForm = () => <form>Create tag</form>;\n",
    "src/routes/tags/tag-edit/components/tag-edit-form/tag-edit-form.tsx":
        "export const TagEditForm = () => <form>Edit tag</form>;\n",
    "src/routes/tags/tag-list/components/tag-list-table/tag-list-table.tsx":
        "export const TagListTable = () => <table>Tags</table>;\n",
    "src/routes/tags/tag-list/components/tag-list-table/tag-list-table-actions.tsx":
        "export const TagListTableActions = () => <button>Delete tags</button>;\n",
    # pages about other things that share the request's words
    **{f"src/routes/tags/tag-detail/components/tag-{part}-section/tag-{part}-section.tsx":
       f"export const Tag{part.title()}Section = () => <div>tag detail {part} description"
       " show tag: admins enter, create or edit a description; confirm delete of selected"
       " tags</div>;\n"
       for part in ("general", "product", "metadata", "history")},
}

EXPRESS = {
    "src/app.ts": "import express from 'express';\nimport rateLimit from 'express-rate-limit';\n"
                  "export const app = express();\napp.use(rateLimit({ max: 100 }));\n",
    "src/config/env.ts": "export const RATE_WINDOW = process.env.RATE_WINDOW;\n",
    "src/routes/users.route.ts": "import { Router } from 'express';\nconst router = Router();\n"
                                 "router.delete('/users/:id', (req, res) => res.send());\n"
                                 "export default router;\n",
    "src/models/webhook_log.ts": "import { Entity } from 'typeorm';\n@Entity('webhook_logs')\n"
                                 "export class WebhookLog { id = 0; }\n",
    "src/repositories/webhook_log.ts": "export const logs = [];\n",
    **{f"src/services/{name}.service.ts": f"// {name}: webhook log archived keep rate "
       "limit login route brute force attempts\n" for name in ("audit",)},
    "test/setup.ts": "import express from 'express';\nconst app = express();\n"
                     "app.delete('/users/:id', (req, res) => res.send('users deleted'));\n"
                     "// users users users delete delete\n",
}


def _top(index: LibsqlRepoIndex, repo: str, text: str, n: int = 5) -> list[str]:
    return [h.path for h in retrieve(index, repo, text, text, limit=n)]


def test_companion_modules_of_a_view(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, DJANGO_APP)
    required = "The email on the public submit ticket form must stay required."
    assert "desk/forms.py" in _top(index, repo, required)
    slow = "The staff ticket list takes too long to load for big queues."
    top = _top(index, repo, slow, 6)
    # the template of the view the request names comes before the view's companions
    assert top.index("desk/templates/desk/ticket_list.html") < 5
    assert "desk/query.py" in top
    # the forms are no companion of a request about speed (in a repository this small
    # they are still among its five best files by their words)
    req = gather(index, repo, slow, slow)
    extend(index, repo, req, {"desk/views/staff.py": 1.0})
    assert req.rows["desk/query.py"]["companion"] > 0
    assert "companion" not in req.rows["desk/forms.py"]
    admin = "Staff need a reset action for tickets in the admin."
    assert "desk/admin.py" in _top(index, repo, admin)


def test_stem_family_and_create_edit_forms(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, REACT_ADMIN)
    top = _top(index, repo, "The delete action of the tag list table actions asks for "
                            "confirmation twice when several tags are selected.", n=2)
    assert "src/routes/tags/tag-list/components/tag-list-table/tag-list-table.tsx" in top
    top = _top(index, repo, "Admins must be able to enter a description when they create "
                            "or edit a tag. Show it on the tag detail page.", n=5)
    assert {"src/routes/tags/tag-create/components/tag-create-form/tag-create-form.tsx",
            "src/routes/tags/tag-edit/components/tag-edit-form/tag-edit-form.tsx"} <= set(top)


def test_entity_layers_entry_files_and_test_setup(index: LibsqlRepoIndex,
                                                  tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, EXPRESS)
    top = _top(index, repo, "Keep the webhook logs when a webhook log is archived.", n=3)
    assert {"src/models/webhook_log.ts", "src/repositories/webhook_log.ts"} <= set(top)
    top = _top(index, repo, "Tighten the rate limit of the login route for brute force "
                            "attempts.", n=3)
    assert "src/app.ts" in top
    top = _top(index, repo, "DELETE /users/:id answers 200 with a body.")
    assert top[0] == "src/routes/users.route.ts"  # not the mock app of the test setup


def test_compiled_copies_weigh_less_beside_their_sources(index: LibsqlRepoIndex,
                                                               tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {
        "src/users.ts": "export function removeUser(id: string) { return id; }\n",
        "lib/users.js": "function removeUser(id) { return id; } // removing a user removes "
                        "the user records of users\n",
    })
    assert _top(index, repo, "Removing a user should remove the user records.", n=1) == [
        "src/users.ts"]
    assert "pkg/src/a/b.ts" in compiled_sources("pkg/lib/a/b.d.ts")
    assert compiled_sources("src/a.ts") == [] and compiled_sources("lib/a.py") == []
    assert demotion("types/api.d.ts") < 1.0


def test_word_sets_are_stored_and_a_new_extractor_version_reads_every_file_again(
        tmp_path: Path) -> None:
    db = Database(f"file:{tmp_path}/idx.db")
    try:
        index = LibsqlRepoIndex(db)
        repo = indexed(index, tmp_path, {"src/webhook_logs.ts": "export const keep = 1;\n",
                                       "src/other.ts": "export const other = 2;\n"})
        rows = db.execute("SELECT path, path_terms FROM idx_file_terms ORDER BY path").rows
        assert [(str(p), str(t)) for p, t in rows] == [("src/other.ts", "other src ts"),
                                                       ("src/webhook_logs.ts",
                                                        "log src ts webhook")]
        assert index.files_named(repo, ["logs"]) == ["src/webhook_logs.ts"]
        hit = index.search(repo, "webhook logs keep", 1)[0]
        assert hit.path == "src/webhook_logs.ts" and "keep" in hit.snippet
        index.index(repo)
        assert index.last_extracted == []  # unchanged files are not read again
        db.execute("UPDATE schema_versions SET version = 1 WHERE component = 'repo_structure'")
        index = LibsqlRepoIndex(db)  # an index written by the previous extractors
        index.index(repo)
        assert sorted(index.last_extracted) == ["src/other.ts", "src/webhook_logs.ts"]
    finally:
        db.close()


def test_an_index_of_the_previous_extractors_gains_the_views_of_its_render_edges(
        tmp_path: Path) -> None:
    db = Database(f"file:{tmp_path}/idx.db")
    try:
        db.execute("CREATE TABLE idx_edges (repo TEXT NOT NULL, src TEXT NOT NULL, "
                   "dst TEXT NOT NULL, kind TEXT NOT NULL)")  # as versions 1 to 3 wrote it
        db.execute("CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER)")
        db.execute("INSERT INTO schema_versions VALUES ('repo_structure', 3)")
        index = LibsqlRepoIndex(db)
        repo = indexed(index, tmp_path, {
            "desk/views.py": "def ticket_list(request):\n"
                             "    return render(request, 'desk/list.html')\n",
            "desk/templates/desk/list.html": "<table></table>\n"})
        assert [(e.kind, e.via) for e in index.neighbours(repo, ["desk/views.py"])] == [
            ("renders", "ticket_list")]
    finally:
        db.close()


def test_a_name_still_to_be_made_pins_nothing(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {
        "src/orders/orders.service.ts": "export class OrdersService {\n"
                                        "  list() { return []; } // orders for the csv\n}\n",
        "src/notes.ts": "// someday: ArchiveExporter\nexport const n = 1;\n",
    })
    # the name is to be made: the one file that mentions it is not where the work goes
    top = _top(index, repo, "Add a new ArchiveExporter that writes orders to a csv.", n=2)
    assert top[0] == "src/orders/orders.service.ts"
    # the same name claimed as existing points at the file that mentions it (a camelCase
    # name is one token of the stored text)
    assert index.mentions(repo, "ArchiveExporter") == ["src/notes.ts"]
    new = {h.path: h.score for h in retrieve(
        index, repo, "Add a new ArchiveExporter that writes orders to a csv.",
        "Add a new ArchiveExporter that writes orders to a csv.", limit=2)}
    claimed = "The existing ArchiveExporter writes orders to a csv."
    existing = {h.path: h.score for h in retrieve(index, repo, claimed, claimed, limit=2)}
    assert existing["src/notes.ts"] > new.get("src/notes.ts", 0.0)
