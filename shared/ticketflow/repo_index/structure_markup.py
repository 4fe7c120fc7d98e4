"""Structure facts of templates (HTML, Jinja, Django, Vue, Svelte, Handlebars), Prisma
schemas and translation catalogues (see :mod:`.structure`)."""

from __future__ import annotations

import html
import json
import re
from pathlib import PurePosixPath
from typing import Any

import yaml

from ticketflow.repo_index.structure import ImportDecl, ModelDecl, StructureFacts

TEMPLATE_SUFFIXES = (".html", ".htm", ".jinja", ".jinja2", ".j2", ".vue", ".svelte", ".hbs",
                     ".handlebars", ".ejs", ".njk", ".pug", ".mustache")
_COMMENT = re.compile(r"<!--.*?-->|\{#.*?#\}|\{\{!--.*?--\}\}", re.S)
_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?</\1>", re.S | re.I)
_TAGS = re.compile(r"<[^>]+>")
_EXPR = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{[^{}]*\}", re.S)
_ATTR_TEXT = re.compile(r"\b(?:title|alt|placeholder|aria-label|label|data-original-title|"
                        r"value)\s*=\s*\"([^\"{}<>]*[A-Za-z][^\"{}<>]*)\"")
_GETTEXT = re.compile(r"""\b(?:_|gettext|trans|translate|t)\(\s*(['"])((?:(?!\1).){2,200})\1""")
_TRANS_TAG = re.compile(r"\{%-?\s*(?:trans|translate)\s+(['\"])(.+?)\1", re.S)
_BLOCKTRANS = re.compile(r"\{%-?\s*(?:blocktrans|blocktranslate|trans)\b[^%]*%\}(.*?)"
                         r"\{%-?\s*end(?:blocktrans|blocktranslate|trans)\s*-?%\}", re.S)
_INCLUDES = re.compile(r"\{%-?\s*(?:extends|include|import|from)\s+['\"]([^'\"]+)['\"]")
_HBS_PARTIAL = re.compile(r"\{\{>\s*([\w./-]+)")
# the page's own scripts and style sheets: url_for('static', filename='js/x.js'),
# {% static 'js/x.js' %}, or a plain src / href
_ASSET = re.compile(
    r"""url_for\(\s*['"]static['"]\s*,\s*filename\s*=\s*['"]([^'"{}]+\.(?:js|css))['"]"""
    r"""|\{%-?\s*static\s+['"]([^'"{}]+\.(?:js|css))['"]"""
    r"""|<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*['"]([^'"{}:]+\.(?:js|css))['"]""")
_VUE_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.S | re.I)
_PRISMA_MODEL = re.compile(r"^\s*model\s+(\w+)\s*\{(.*?)^\s*\}", re.M | re.S)
_PRISMA_MAP = re.compile(r"@@map\(\s*\"([^\"]+)\"")
_LETTER = re.compile(r"[A-Za-z]{2,}")
_CATALOGUE_DIRS = ("locale", "locales", "i18n", "l10n", "intl", "translations", "lang", "langs",
                   "messages")
_ENGLISH = re.compile(r"^(en|en[-_]?(us|gb))$", re.I)


def template_text(text: str) -> list[str]:
    """Visible text of a template: text nodes, labelling attributes, translated strings."""
    out: list[str] = []
    body = _COMMENT.sub(" ", text)
    for m in _TRANS_TAG.finditer(body):
        out.append(m.group(2))
    for m in _BLOCKTRANS.finditer(body):
        out.append(" ".join(_EXPR.sub(" ", m.group(1)).split()))
    for m in _GETTEXT.finditer(body):
        out.append(m.group(2))
    for m in _ATTR_TEXT.finditer(body):
        out.append(" ".join(m.group(1).split()))
    visible = _BLOCK.sub(" ", body)
    for chunk in _TAGS.split(visible):
        chunk = _EXPR.sub("\n", chunk)
        for line in chunk.split("\n"):
            s = " ".join(line.split())
            if _LETTER.search(s) and len(s) <= 200:
                out.append(html.unescape(s))
    return out


def _flatten(value: Any, out: list[str], depth: int = 0) -> None:
    if depth > 8:
        return
    if isinstance(value, str):
        if _LETTER.search(value) and len(value) <= 300:
            out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _flatten(v, out, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _flatten(v, out, depth + 1)


def is_catalogue(path: str) -> bool:
    """An English translation catalogue (``locales/en.json``, ``i18n/en/common.json``,
    ``config/locales/en.yml``, ``translations/messages.en.yaml``)."""
    p = PurePosixPath(path.lower())
    if p.suffix not in (".json", ".yml", ".yaml") or not any(
            part in _CATALOGUE_DIRS for part in p.parts[:-1]):
        return False
    return bool(_ENGLISH.match(p.stem) or _ENGLISH.match(p.stem.rsplit(".", 1)[-1])
                or any(_ENGLISH.match(part) for part in p.parts[:-1]))


def read(path: str, text: str, language: str | None, facts: StructureFacts) -> None:
    """Fill ``facts`` from a template, a Prisma schema or a translation catalogue."""
    lower = path.lower()
    if lower.endswith(TEMPLATE_SUFFIXES):
        facts.ui_text.extend(template_text(text))
        for m in _INCLUDES.finditer(text):
            facts.renders.append(m.group(1))
        for m in _HBS_PARTIAL.finditer(text):
            facts.renders.append(m.group(1))
        for m in _ASSET.finditer(text):
            asset = m.group(1) or m.group(2) or m.group(3)
            if not re.search(r"\.min\.|(?:^|/)(?:vendor|libs?|node_modules)/", asset):
                facts.renders.append(asset)
        if lower.endswith((".vue", ".svelte")):
            from ticketflow.repo_index import structure_ts

            for script in _VUE_SCRIPT.finditer(text):
                structure_ts.read(path + ".ts", script.group(1), facts)
            structure_ts.file_routes(path, text, facts)  # SvelteKit and Nuxt pages
    elif lower.endswith(".prisma"):
        for m in _PRISMA_MODEL.finditer(text):
            mapped = _PRISMA_MAP.search(m.group(2))
            facts.models.append(ModelDecl(m.group(1), mapped.group(1) if mapped else "",
                                          "prisma"))
    elif is_catalogue(path):
        try:
            doc = json.loads(text) if lower.endswith(".json") else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError):
            return
        _flatten(doc, facts.ui_text)
    facts.renders = list(dict.fromkeys(facts.renders))
    facts.ui_text = list(dict.fromkeys(facts.ui_text))


__all__ = ["ImportDecl", "is_catalogue", "read", "template_text"]
