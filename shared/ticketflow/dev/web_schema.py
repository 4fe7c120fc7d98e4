"""The JSON Schema of the documents the web page reads and writes.

The page's TypeScript types (``web/src/generated/models.ts``) are generated from
this schema, never written by hand: ``python -m ticketflow.dev.web_schema --out
web/src/generated/models.schema.json`` writes it, and ``web/scripts/models.mjs``
turns it into TypeScript with json-schema-to-typescript (``make web-models`` runs
both). Both halves are checked by the test suite, so a change to a model that the
page reads fails CI until the generated files follow it.

The schema has one root object whose properties name the four documents:

* ``aec`` - the ticket ``aecs/{aecId}`` (:class:`~ticketflow.domain.AEC`);
* ``actionRequest`` - what the trigger parses from ``aecs/{aecId}/actions/{id}``
  (:class:`~ticketflow.workflow.actions.ActionRequest`);
* ``actionResult`` - the verdict the server writes back on that document's
  ``result`` (:class:`~ticketflow.ports.ActionResult`);
* ``repository`` - a registration ``repositories/{repoId}`` with its latest index
  (:class:`~ticketflow.ports.repositories.RepositoryDoc`).

Every model is exported in pydantic's *validation* mode with its camelCase aliases:
a field with a default is optional, exactly as the server accepts a document (the
page's own draft has only a few fields; the server's writes have them all).
Datetimes are ``date-time`` strings, the JSON form of ``doc()``; the page's
Firestore converters turn the timestamps they read into those strings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from ticketflow.domain import AEC
from ticketflow.ports import ActionResult
from ticketflow.ports.repositories import RepositoryDoc
from ticketflow.workflow.actions import ActionRequest

TITLE = "TicketflowDocuments"
DOCUMENTS: dict[str, type[BaseModel]] = {
    "aec": AEC,
    "actionRequest": ActionRequest,
    "actionResult": ActionResult,
    "repository": RepositoryDoc,
}


class _WebSchema(GenerateJsonSchema):
    """Pydantic's generator without what turns into noise in TypeScript.

    Field titles ("Owner Id") would each become a type alias, and a ``default`` next
    to a ``$ref`` makes json-schema-to-typescript declare the referenced type twice;
    the field stays optional either way (it is not in ``required``).
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if "$ref" in json_schema:
            json_schema.pop("default", None)
        return json_schema


def web_schema() -> dict[str, Any]:
    """The schema: a root object with one property per document, models in ``$defs``."""
    refs, top = models_json_schema(
        [(model, "validation") for model in DOCUMENTS.values()],
        ref_template="#/$defs/{model}",
        schema_generator=_WebSchema,
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": TITLE,
        "description": "The Firestore documents of ticketflow as the web page sees them.",
        "type": "object",
        "properties": {name: refs[(model, "validation")] for name, model in DOCUMENTS.items()},
        "required": list(DOCUMENTS),
        "additionalProperties": False,
        "$defs": top["$defs"],
    }


def render() -> str:
    """The schema as the committed file holds it (stable key order, newline at the end)."""
    return json.dumps(web_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ticketflow.dev.web_schema",
        description="Print, write or check the JSON Schema of the web page's documents.",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--out", type=Path, help="write the schema to this file")
    group.add_argument("--check", type=Path,
                       help="exit 1 when this file differs from the schema of the models")
    args = parser.parse_args(argv)
    text = render()
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        return 0
    if args.check is not None:
        current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.check} is out of date with the pydantic models: "
                             "run `make web-models` and commit the result\n")
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
