"""Claims about code checked against small repositories written here: names that say
what code they are, file names with several dots, routes named by a path and a noun,
labels shown from code (JSX in .js files, menus and route tables), and the names a
request may use that no repository defines (platform variables, technologies)."""

from __future__ import annotations

from pathlib import Path

from tests.support import indexed

from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.adapters.libsql.repo_lookup import closest
from ticketflow.domain import Severity
from ticketflow.preflight import extract_references, validate_request

REACT_JS = {
    "package.json": '{"name": "dash", "dependencies": {"react": "16.0.0"}}',
    "src/routes.js": """import UserProfile from "views/UserProfile/UserProfile.js";
import TableList from "views/TableList/TableList.js";
const dashboardRoutes = [
  { path: "/user", name: "User Profile", icon: Person, component: UserProfile,
    layout: "/admin" },
  { path: "/table", name: "Table List", icon: "content_paste", component: TableList,
    layout: "/admin" },
];
export default dashboardRoutes;
""",
    "src/views/UserProfile/UserProfile.js": """import React from "react";
import Button from "components/CustomButtons/Button.js";
export default function UserProfile() {
  return (
    <div>
      <h4 className="title">Edit Profile</h4>
      <Button color="primary">{"Update Profile"}</Button>
    </div>
  );
}
""",
    "src/components/CustomButtons/Button.js": """import React from "react";
export default function RegularButton(props) { return <button {...props} />; }
""",
    "CHANGELOG.md": "## 1.1\n- The Delete Account button was removed.\n",
}

NEST = {
    "src/modules/users/users.service.ts": """import { Injectable } from '@nestjs/common';
@Injectable()
export class UsersService {
  findAll() { return []; }
}
""",
    "src/modules/users/users.controller.ts": """import { Controller, Get } from '@nestjs/common';
@Controller('users')
export class UsersController {
  @Get()
  list() { return []; }
}
""",
}


def _critical(index: LibsqlRepoIndex, repo: str, description: str) -> list[str]:
    found = validate_request("A request", description, repo=repo, index=index)
    return [f.message for f in found if f.severity == Severity.CRITICAL]


def _refs(text: str) -> set[tuple[str, str]]:
    return {(r.kind, r.name) for r in extract_references(text)}


def test_file_names_with_several_dots_and_technologies_that_look_like_files() -> None:
    refs = _refs("Use the AuditService in src/modules/audit/audit.service.ts. We run "
                 "Node.js 20 and Vue.js; see http://localhost:3000/admin/users for it.")
    assert ("file", "src/modules/audit/audit.service.ts") in refs
    assert not {r for r in refs if r[0] == "file" and r[1] != "src/modules/audit/"
                "audit.service.ts"}


def test_routes_named_by_a_path_and_a_noun() -> None:
    refs = _refs("The /admin/user page is blank. The existing /documents/{id} endpoint "
                 "answers 500, and so does the health check route /healthz. Let /drip "
                 "stream faster.")
    assert {("route", "/admin/user"), ("route", "/documents/{id}"),
            ("route", "/healthz")} <= refs
    assert ("route", "/drip") not in refs  # a path without a route noun is not a claim


def test_names_that_say_what_code_they_are_are_claims(index: LibsqlRepoIndex,
                                                      tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, NEST)
    assert any("AuditService" in m for m in _critical(
        index, repo, "Permission changes go to the audit log through the AuditService."))
    assert any("audit.service.ts" in m for m in _critical(
        index, repo, "Log it in src/modules/audit/audit.service.ts."))
    assert any("useAuditTrail" in m for m in _critical(
        index, repo, "The useAuditTrail hook should record the change."))
    assert any("format_price" in m for m in _critical(
        index, repo, "The format_price filter rounds totals wrongly."))
    # existing names are fine, and a CamelCase word that says nothing about code warns
    assert _critical(index, repo, "UsersService.findAll() should sort by name.") == []
    found = validate_request("A request", "Ask PlanetScale for a bigger plan.", repo=repo,
                             index=index)
    assert [f.severity for f in found if "PlanetScale" in f.message] == [Severity.WARNING]


def test_labels_shown_from_code_exist(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, REACT_JS)
    for label in ("Edit Profile", "Update Profile", "User Profile", "Table List"):
        assert _critical(index, repo, f"Clicking the '{label}' button does nothing.") == [], \
            label
    # words only in the changelog are not on screen
    assert any("Delete Account" in m for m in _critical(
        index, repo, "The 'Delete Account' button does nothing."))
    assert index.lookup(repo, "ui_text", "Edit Profile").files == [
        "src/views/UserProfile/UserProfile.js"]


def test_pages_of_a_route_table_under_their_layout(index: LibsqlRepoIndex,
                                                   tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, REACT_JS)
    assert _critical(index, repo, "The /admin/user page shows an empty form.") == []
    assert any("/admin/billing" in m for m in _critical(
        index, repo, "The /admin/billing page shows an empty form."))


def test_platform_settings_are_not_the_repository_s(index: LibsqlRepoIndex,
                                                    tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, NEST)
    assert _critical(index, repo, "In production NODE_ENV is set to production.") == []
    assert any("USERS_PAGE_SIZE" in m for m in _critical(
        index, repo, "The list is paged by USERS_PAGE_SIZE."))


COMPILED_AND_CONFIG = {
    "lib/main.js": "const app = await core_1.NestFactory.create(app_module_1.AppModule);\n"
                   "app.setGlobalPrefix('api');\n",
    "lib/servers.controller.js": """let ServersController = class ServersController {
    findOne(id) { return id; }
};
__decorate([
    (0, common_1.Get)(':id'),
    __param(0, (0, common_1.Param)('id')),
], ServersController.prototype, "findOne", null);
exports.ServersController = ServersController = __decorate([
    (0, common_1.Controller)('servers'),
    __metadata("design:paramtypes", [Object])
], ServersController);
""",
    "server/routes.ts": "import { Router } from 'express';\nconst router = Router();\n"
                        "router.get('/repos/:ignored?/:tenantId/git/blobs/:sha', (q, r) => r);\n"
                        "export default router;\n",
    "server/items.ts": "import { Router } from 'express';\nconst router = Router();\n"
                       "router.get(`${base}/items/:itemId`, (q, r) => r);\n",
    "server/settings.py": """from pydantic import BaseSettings, Field
class Settings(BaseSettings):
    home_path: str = "~"
    broker: str = Field("x", env="QUEUE_BROKER_URL")
    class Config:
        env_prefix = "SRV_"
""",
}


def test_compiled_controllers_optional_parameters_and_prefixed_settings(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, COMPILED_AND_CONFIG)
    assert index.lookup(repo, "route", "GET /api/servers/{id}").found
    assert not index.lookup(repo, "route", "DELETE /api/servers/{id}").found
    assert index.lookup(repo, "route", "GET /repos/{tenantId}/git/blobs/{sha}").found
    assert index.lookup(repo, "route", "GET /repos/x/{tenantId}/git/blobs/{sha}").found
    assert index.lookup(repo, "route", "GET /v2/items/{itemId}").found  # `${base}/items`
    assert index.lookup(repo, "setting", "SRV_HOME_PATH").found
    assert index.lookup(repo, "setting", "QUEUE_BROKER_URL").found


ESM_COMPILED = {
    "server/main.js": "const app = await NestFactory.create(AppModule);\n"
                      "app.setGlobalPrefix('/api');\n",
    "server/kennels/kennels.controller.js": """import { Controller, Get } from '@nestjs/common';
let KennelsController = class KennelsController {
    list() { return []; }
    feed(id) { return id; }
};
__decorate([
    ApiOperation({ summary: 'List kennels.' }),
    Get(),
], KennelsController.prototype, "list", null);
__decorate([
    Post('/:kennelId/feed'),
    __param(0, Param('kennelId')),
], KennelsController.prototype, "feed", null);
KennelsController = __decorate([
    ApiTags('Kennels'),
    Controller('kennels'),
], KennelsController);
export { KennelsController };
""",
}


def test_controllers_compiled_to_es_modules(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, ESM_COMPILED)
    assert index.lookup(repo, "route", "GET /api/kennels").found
    assert index.lookup(repo, "route", "POST /api/kennels/{kennelId}/feed").found
    assert not index.lookup(repo, "route", "DELETE /api/kennels/{kennelId}").found


def test_products_whose_name_ends_in_a_code_role_are_not_code_claims(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, NEST)
    assert _critical(index, repo, "Send the reset mail through SendGrid.") == []
    assert any("MailSender" in m for m in _critical(
        index, repo, "Send the reset mail through the MailSender."))


def test_suggestions_come_from_names_sharing_a_word() -> None:
    assert closest("OrderExporter", ["OrderExport", "UserImporter"]) == "OrderExport"
    assert closest("OrderExporter", ["Unrelated", "Something"]) is None
    # among thousands of names, only those sharing a word are compared
    many = [f"Widget{i}Factory" for i in range(4000)] + ["InvoiceExporter"]
    assert closest("InvoiceExport", many) == "InvoiceExporter"
