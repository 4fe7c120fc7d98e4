"""Find what a request refers to in the code: files, symbols, routes, settings, and
quoted text shown to people ("the 'Save' button").

Each reference keeps the sentence it came from (the evidence shown to the person)
and whether the wording presents it as existing ("the `export_csv()` helper", "the
existing GET /x endpoint") or as something to create ("add a new `export_csv()`
helper", "users must be able to ... (DELETE /x)"): the nearest cue before the
reference in its sentence decides, and so does a name being given ("a 'Copy link'
button", "rename it to 'Y'", "split f() into g()", "'Y' instead of 'X'"); a route in a
sentence that asks for a new capability is something to create.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ticketflow.ports import RefKind
from ticketflow.preflight.wording import asks

#: What a reference is: a kind the index can look up, or a thing named by description.
ClaimKind = RefKind | Literal["description"]

_EXT = (r"py|ts|tsx|js|jsx|mjs|cjs|mts|cts|json|ya?ml|toml|md|sql|html?|css|scss|go|rs|java|"
        r"kt|rb|php|cfg|ini|env|sh|txt|vue|svelte|j2|jinja2?|njk|hbs|ejs|pug|xml|po")
# a folder of a path: a plain name, a Next.js route group "(main)" or a dynamic segment
# "[websiteId]" / "[...slug]"
_SEG = r"(?:\([\w-]+\)|\[(?:\.\.\.)?[\w-]+\]|[\w.-]+)"
# file names may carry several dots: audit.service.ts, user.model.js, settings.base.py
_PATH = re.compile(rf"(?<![\w/.-])((?:{_SEG}/)*(?:\[(?:\.\.\.)?[\w-]+\]|[\w-]+(?:\.[\w-]+)*)"
                   rf"\.(?:{_EXT}))(?![\w/-])")
# "Node.js", "Vue.js": names of technologies, not files
_TECH_JS = frozenset({
    "node", "vue", "next", "nuxt", "express", "react", "angular", "ember", "d3", "chart",
    "three", "backbone", "nest", "alpine", "svelte", "solid", "preact", "moment", "day",
    "p5", "pixi", "leaflet", "highcharts", "socket", "video", "web3", "ethers", "knockout",
    "meteor", "sails", "koa", "hapi", "fastify", "adonis", "feathers", "strapi", "gatsby",
    "remix", "astro", "handlebars", "mustache", "deno", "bun", "tailwind", "tensorflow"})
# "the /reports page", "the /healthz endpoint": a path with the noun that makes it a route
_BARE_ROUTE = re.compile(r"(?<![\w/.:)\]>}-])(/[A-Za-z{:<\[][\w/{}:<>\[\].-]*)(?=[\s,)]+(?:\w+\s+)?"
                         r"(?:endpoint|route|url|api|handler|page|screen|view)s?\b)", re.I)
_ROUTE_BEFORE = re.compile(r"\b(?:(?:endpoint|route|url|path|page|screen|view)(?:\s+(?:at|on|"
                           r"under|of))?|open(?:s|ing)?|visit(?:s|ing)?|navigat(?:e|es|ing) to|"
                           r"go(?:es)? to|redirect(?:s|ed)? to)\s+$", re.I)
# a path with a parameter in it (/users/<pk>/ban/, /users/:id, /users/{id}) is a route
# (or starts with one: /<project_id>/feed); Next.js writes one /[websiteId]/
_PARAM = r"(?:<[\w:]+>|\{\w+\}|:\w+|\[(?:\.\.\.)?\w+\])"
# an Express parameter may be optional inside a path: /b/:board/:page?/print
_PARAM_ROUTE = re.compile(rf"(?<![\w/.:)\]>}}-])(/(?:[A-Za-z][\w.-]*(?:/[\w.-]*)*/{_PARAM}|"
                          rf"{_PARAM}/[\w.-]+)(?:[\w/{{}}:<>\[\].-]|(?<=\w)\?(?=/))*)")
# a route written without its leading slash, known by a parameter after a fixed word
# (Django writes its paths so: "orders/<int:pk>/refund", "teams/{team}/members")
_PART_ROUTE = re.compile(r"(?<![\w/.:<>{}\[\]-])([A-Za-z][\w-]*(?:/[\w-]+)*/"
                         r"(?:<[\w:]+>|\{\w+\})(?:/(?:[\w-]+|<[\w:]+>|\{\w+\}))*/?)"
                         r"(?![\w.<>{}/:-])")
# an absolute path of two or more plain segments outside a URL ("/-/tools/purge",
# "/admin/queues"), not a place on a file system and not a file: a route
_ABS_ROUTE = re.compile(r"(?<![\w/.:)\]>}-])(/(?:-|[A-Za-z][\w-]*)(?:/[A-Za-z][\w-]*)+/?)"
                        r"(?![\w./:{<-])")
_FS_ROOT = frozenset({"etc", "var", "usr", "tmp", "home", "opt", "dev", "proc", "bin", "sbin",
                      "srv", "mnt", "root", "lib", "sys", "run", "users", "applications",
                      "volumes", "private", "data", "app", "workspace"})
# a folder path; never the head of a longer path ("a/b" of "a/b/c.unknown")
_DIR_PATH = re.compile(r"(?<![\w/.-])((?:[\w-]+/){1,}[\w-]+/?)(?![\w.]|/[\w(\[])")
_ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE)\s+(/[\w/{}:<>\[\].-]*)")
_API_PATH = re.compile(r"(?<![\w/])(/api/[\w/{}:<>\[\].-]+)")
_ENV = re.compile(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b")
# a key of a layered configuration ("logger:level", "alfred:maxBlobSize"): sections
# joined by colons, with a code-like part so that prose ("note:this") is not one
_CONFIG_KEY = re.compile(r"(?<![\w:/.-])([a-z][A-Za-z0-9_]{2,}(?::[A-Za-z][A-Za-z0-9_]*)+)"
                         r"(?![\w:/-])")
# a dotted key of a configuration ("jwt.expireTime", "mail.smtp.port") next to the words
# that say so ("from the settings", "the config option")
_DOTTED_KEY = re.compile(r"(?<![\w./-])([a-z][A-Za-z0-9_]{2,}(?:\.[A-Za-z][A-Za-z0-9_]*)+)"
                         r"(?![\w(/-]|\.\w)")
# a traitlets option as a Jupyter-style config file sets it ("c.Spawner.start_timeout =
# 60"): the class's configurable trait
_TRAITLET = re.compile(r"(?<![\w.])c\.([A-Z][A-Za-z0-9]*\.[a-z_][A-Za-z0-9_]*)\b(?!\()")
# an upper-case word named as a value, not a setting: "with codes such as 'SQLITE_BUSY'",
# "the error ECONNRESET_X", "its status IN_PROGRESS"
_VALUE_BEFORE = re.compile(r"\b(?:codes?|errors?|errno|status(?:es)?|states?|"
                           r"exceptions?|signals?|events?)\s+(?:(?:such as|like|e\.g\.,?|"
                           r"is|was|=)\s+)?['\"`\u2018\u201c]?$", re.I)
_KEY_CONTEXT = re.compile(r"\b(?:settings?|config(?:uration)?|options?|preferences?)\b", re.I)
# a key given a value the way configuration is written ("maxRows: 50", "retry_limit=3",
# "paging: { size: 20 }"): a code-like name (or any name opening an object) before a
# colon or an equals sign and a literal
_ASSIGNED_KEY = re.compile(r"(?<![\w.:/-])([a-z][a-z0-9]+(?:[A-Z][a-z0-9]+)+|"
                           r"[a-z][a-z0-9]*_[a-z0-9_]+|[a-z][a-z0-9]+(?=\s*:\s*\{))"
                           r"\s*[:=]\s*(?=\d|['\"{\[]|(?:true|false|null)\b)")
# the same written as JSON ("\"retryLimit\": 3"), and a code-like name set to a value
# ("set upload_kb to 512"): a configuration key
_QUOTED_KEY = re.compile(r"([\"'])([a-z][a-z0-9]+(?:[A-Z][a-z0-9]+)+|[a-z][a-z0-9]*_[a-z0-9_]+)"
                         r"\1\s*:\s*(?=\d|['\"{\[]|(?:true|false|null)\b)")
# (case matters for the name: ignoring it, every word would be camelCase, and "a new
# setting defaulting to 5 seconds" would name a setting "defaulting")
_SET_TO = re.compile(r"\b[Ss]et(?:s|ting)?\s+(?:[Tt]he\s+)?`?((?:[a-z][A-Za-z0-9_]*\.)*"
                     r"(?:[a-z][a-z0-9]+(?:[A-Z][a-z0-9]+)+|[a-z][a-z0-9]*_[a-z0-9_]+))`?\s+to\s+"
                     r"(?=\d|['\"`]|(?:true|false|on|off|null)\b)")
# a code-like name set in a configuration ("we set receiptFooterText in the billing
# config", "enabled auto_archive in settings.py"): a configuration key
_SET_IN = re.compile(r"\b(?:[Ss]et|[Cc]onfigured|[Ee]nabled|[Dd]isabled|[Tt]urned (?:on|off))\s+"
                     r"(?:[Tt]he\s+)?`?((?:[a-z][A-Za-z0-9_]*\.)*(?:[a-z][a-z0-9]+(?:[A-Z][a-z0-9]+)+|"
                     r"[a-z][a-z0-9]*_[a-z0-9_]+))`?\s+in\s+(?:the\s+|our\s+|its\s+|their\s+)?"
                     r"(?:[\w.-]+\s+){0,2}?(?:config\w*|settings?|environment|env|[\w/-]*"
                     r"(?:config|settings|conf)[\w-]*\.(?:py|js|ts|json|ya?ml|toml|ini|cfg))\b")
# a code-like name the request calls a setting ("the retry_limit setting", "the
# `maxRows` option"): a configuration key, whatever else the sentence says
_NAMED_SETTING = re.compile(r"\b(?:[Tt]he|[Aa]|[Oo]ur|[Ii]ts)\s+`?("
                            r"[a-z][a-z0-9]+(?:[A-Z][a-z0-9]+)+|[a-z][a-z0-9]*_[a-z0-9_]+)`?\s+"
                            r"(?:setting|config(?:uration)? (?:key|option|value)|option)s?\b")
_HOST_END = frozenset({"com", "org", "net", "io", "dev", "app", "host", "local", "co", "ai",
                       "de", "fr", "uk", "eu", "info", "cloud", "js", "ts", "py",
                       # a configuration file ("the option in supysonic.conf"), not a key
                       "conf", "cfg", "ini", "toml", "yaml", "yml", "json", "env",
                       "properties", "xml"})
_CALL = re.compile(r"\b([A-Za-z_][\w.]*)\(\)")
# "DataSet.export_rows", "UsersService.findAll": a member of a class or module
# "Socket.io", "Vercel.app": the end of a product's or a site's name, not a member
_NOT_MEMBER = frozenset({"io", "js", "ts", "net", "com", "org", "dev", "app", "ai", "co", "me",
                         "sh", "py", "rb", "go", "rs", "so", "cloud", "tech"})
_DOTTED = re.compile(r"(?<![\w.])([A-Z][A-Za-z0-9]+\.[a-z_][A-Za-z0-9_]*)\b(?![.(]\w)")
_BACKTICK = re.compile(r"`([^`\n]{2,80})`")
_CAMEL = re.compile(r"\b([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+)\b")
_LOWER_CAMEL = re.compile(r"\b([a-z][a-z0-9]+(?:[A-Z][a-z0-9]+)+)\b")
_NOT_CODE = frozenset({"iPhone", "iPad", "iPod", "iCloud", "iMac", "iTunes", "iMessage",
                       "eBay", "macOS", "jQuery", "eCommerce", "eLearning", "iOS"})
_NAMED_CODE = re.compile(r"\b([A-Z][A-Za-z0-9]{2,})\s+(?:component|class|hook)\b")
_SNAKE = re.compile(r"\b([a-z][a-z0-9]*_[a-z0-9_]+)\b")
_CREATE_CUE = re.compile(
    r"\b(add(?:s|ed|ing)?|create[sd]?|creating|introduc(?:e|es|ing)|new|implement(?:s|ing)?|"
    r"build(?:s|ing)?|write|define|expose|another|additional|extra)\b", re.I)
_FIRM_EXIST = re.compile(r"\b(existing|current(?:ly)?|already|reus(?:e|es|ing)|the same)\b",
                         re.I)
_CAPABILITY = re.compile(r"\b(must|should|need(?:s)? to) be able to\b|\b(allow|let)s?\b"
                         r"\s+\w+\s+\w+", re.I)
_UI_NOUN = (r"button|link|tab|menu|item|entry|action|label|field|heading|header|title|"
            r"page|option|checkbox|column|message|tooltip|dialog|modal|section|toggle|icon|"
            r"banner|placeholder|text|switch|filter|panel|form|card|dropdown|screen")
_QUOTED = re.compile("['\u2018\"\u201c]([^'\"\u2018\u2019\u201c\u201d\n]{1,60})"
                     "['\u2019\"\u201d]")
_UI_BEFORE = re.compile(r"\b(click(?:s|ing|ed)?|press(?:es|ing)?|tap(?:s|ping)?|choos(?:e|es|ing)|"
                        r"select(?:s|ing)?|hit(?:s|ting)?|open(?:s|ing)?|us(?:e|es|ed|ing)|the|"
                        r"an?)\s*$", re.I)
# what a person clicks or picks is on screen: "click 'Save'", "when I pick 'Last week'"
_CLICKED = re.compile(r"\b(?:click(?:s|ing|ed)?|tap(?:s|ping|ped)?|pick(?:s|ing|ed)?|"
                      r"chos(?:e|en)|choos(?:e|es|ing)|(?:un)?tick(?:s|ing|ed)?|"
                      r"(?:un)?check(?:s|ing|ed)?(?:\s+off)?|toggl(?:e|es|ing|ed))\s+(?:on\s+)?"
                      "['\u2018\"\u201c]?$", re.I)
# "the field 'Remind me after'", "the checkbox 'Compact'": a UI noun names what follows
# (the widgets only: "the text 'x'" or "the message 'x'" may be what an API answers)
_WIDGET = (r"button|link|tab|menu|field|checkbox|option|toggle|switch|dropdown|label|heading|"
           r"tooltip|placeholder|column|dialog|modal|panel|icon|banner")
_UI_NOUN_BEFORE = re.compile(rf"\b(?:the|this|that|its|their)\s+(?:{_WIDGET})\s+"
                             "['\u2018\"\u201c]?$", re.I)
# "In the Sharing panel, 'Copy link' ...": a label at the start of a clause whose lead-in
# names a part of the screen
_UI_PLACE = re.compile(r"\b(?:in|on|from|under)\s+the\s+(?:[\w/&-]+\s+){0,3}(?:panel|menu|"
                       r"dialog|modal|toolbar|sidebar|tab|page|screen|window|pane|drawer|"
                       r"popup|pop-up)\s*,\s*['\u2018\"\u201c]?$", re.I)
_UI_AFTER = re.compile(rf"^\s*(?:\w+\s+)?({_UI_NOUN})s?\b", re.I)
# "text/csv", "and/or": slash words that are not paths
_NOT_PATH_HEAD = re.compile(
    r"^(text|application|image|audio|video|multipart|font|and|yes|true|on|read|input|"
    r"client|either|he|she|his|km|m|kb|mb|gb|req|requests?|bytes)/", re.I)
_QUERY_PARAM = re.compile(r"[?&][\w.-]*$")


@dataclass(frozen=True)
class Reference:
    kind: ClaimKind
    name: str
    evidence: str
    creates: bool


_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]``: a period ends one only when followed by
    white space, so ``billing/pdf.py`` stays whole."""
    left = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        left = m.end()
    after = _SENTENCE_END.search(text, end)
    right = after.start() if after is not None else len(text)
    return text[left:right].strip()


_OPEN = "[`'\"\u2018\u201c]?"
# a name given to something: "a 'Copy link' button", "a MAX_ROWS environment variable",
# "rename X to 'Y'", "split f() into g()", "call it h()", "a helper named k"
_ARTICLE = re.compile(rf"\b(?:an?|another)\s+(?:new\s+|separate\s+|dedicated\s+)?{_OPEN}$",
                      re.I)
_NAMING = re.compile(
    # "with" names the new thing after replacing or switching only: one moves a thing
    # with a form that exists
    rf"(?:(?:\b(?:renam\w*|replac\w*|chang\w*|switch\w*|turn\w*|convert\w*|split\w*|"
    rf"mov(?:e|es|ed|ing))\b[^.;]*?\b(?:to|into)|\b(?:replac\w*|switch\w*|swap\w*)\b[^.;]*?"
    rf"\bwith)\s+(?:an?\s+|the\s+)?(?:new\s+)?"
    rf"(?:{_OPEN}[\w.()/-]+[`'\"\u2019\u201d]?\s*(?:,|,? and|,? or)\s+)?|"
    rf"\b(?:call|name)\s+(?:it|them|this|that|the \w+)\s+|"
    rf"\bconfigurable\s+(?:through|via|with|by|using|from|in)\s+(?:an?\s+|the\s+)?"
    rf"(?:new\s+)?(?:[\w-]+\s+){{0,2}}|"
    rf"\b(?:an?|new)\s+(?:[\w-]+\s+){{0,3}}(?:called|named|labell?ed|titled)\s+){_OPEN}$", re.I)
# "there is a 'Copy' link", "it has a `slug` field": the article introduces an existing one
_HAS_A = re.compile(rf"\b(?:has|have|had|there (?:is|are|was|were)|uses?|using|contains?|"
                    rf"calls?|click\w*|press\w*|tap\w*|hit\w*|select\w*|choos\w*|open\w*)"
                    rf"\s+(?:an?|another)\s+{_OPEN}$", re.I)
_INSTEAD = re.compile(r"^[`'\"\u2019\u201d]?\s*(?:\w+\s+)?instead of\b", re.I)


# an adjective cue ("a new token") describes its own noun, not a name further on
_ADJECTIVE_CUE = frozenset({"new", "another", "additional", "extra"})
# a clause of its own between a cue and the reference: "gets a new token, but f() ..."
_CUE_BREAK = re.compile(r";|,?\s+(?:but|so|while|whereas|yet|although|though)\s+", re.I)
# a verb cue used as a noun names a thing, not an act: "the build history endpoint",
# "the admin build page", "each environment's build" (after a determiner and at most
# one word, and not followed by what a verb would take: "the user adds a filter")
_DETERMINED = re.compile(r"\b(?:the|a|an|this|that|these|those|each|every|its|their|our|"
                         r"your|his|her|any|no|per|which|whose)\s+(?:[\w'\u2019-]+\s+)?$",
                         re.I)
_VERB_OBJECT = re.compile(r"\s+(?:an?|the|it|them|this|that|these|those|its|their|our|your|"
                          r"his|her|my|some|one|new|support|out|up|in|on|to|into|from|for|"
                          r"with)\b", re.I)
# a past participle after a noun describes what exists: "users created with POST /users"
_PARTICIPLE = re.compile(r"(?:created|added|introduced|implemented|built|defined|exposed)$",
                         re.I)


def _cue_reaches(cue: re.Match[str], before: str) -> bool:
    """Does the creation cue ``cue`` (in ``before``, the sentence up to a reference) bear
    on the reference? Not across a clause break; an adjective only with at most one
    word between it and the reference (or its noun and where it goes: "a new `X` class
    in"); a verb used as a noun ("the build history endpoint"), a past participle after
    a noun, or a past tense after its doer ("we added") never."""
    between = before[cue.end():]
    if _CUE_BREAK.search(between):
        return False
    if cue.group(1).lower() in _ADJECTIVE_CUE:
        words = re.findall(r"[\w.()/`-]+", between)
        # "a new `X` class in a/b.py": where the new thing goes is part of it
        placed = bool(words) and words[-1].lower() in ("in", "under", "inside", "within",
                                                       "into")
        if len(words) > (3 if placed else 1):
            return False
    if (cue.group(1).lower() not in _ADJECTIVE_CUE and _DETERMINED.search(
            before[:cue.start()]) and not _VERB_OBJECT.match(between)):
        return False
    lead = before[:cue.start()].rstrip()
    if _PARTICIPLE.match(cue.group(1)) and "," in between and re.search(
            r"\b(?:is|are|was|were|gets?|got)$", lead, re.I):
        return False  # "when someone is added to a group, ... rendered from x.html"
    if _PARTICIPLE.match(cue.group(1)) and re.search(
            r"\b(?:we|I|they|you|someone|somebody|he|she)$", lead, re.I):
        return False  # what was done: "we added `maxRows: 50` to config.json"
    return not (_PARTICIPLE.match(cue.group(1)) and re.search(
        r"[A-Za-z]{3,}$", lead) and not re.search(
            r"\b(?:be|been|being|is|are|was|were|get|gets|got)$", lead, re.I))


# a prose file named as where a note goes ("note the new flag in CHANGES.md",
# "document it in docs/setup.md"): written to, created if need be
_NOTE_IN = re.compile(r"\b(?:mention\w*|document\w*|note|notes|noted|record\w*|announc\w*|"
                      r"explain\w*)\b[^.;]{0,50}?\b(?:in|to|into)\s+(?:the\s+|a\s+)?`?$",
                      re.I)
_PROSE_FILE = re.compile(r"\.(?:md|rst|txt|adoc)$", re.I)


def _creates(text: str, start: int, kind: str = "", stop: int | None = None) -> bool:
    """Does the wording ask to create the reference at ``start``? A creation cue close
    before it in its sentence ("a new", "add") decides, unless a firm existence cue
    ("the existing", "current", "already", "reuse") comes after that cue; so does a
    name being given ("a 'Copy link' button", "rename it to 'Y'", "'Y' instead of
    'X'"); with no cue, a route in a sentence asking for a new capability is to be
    created."""
    left = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        left = m.end()
    before = text[left:start]
    if _NAMING.search(before):
        return True
    if (kind == "file" and stop is not None and _PROSE_FILE.search(text[start:stop])
            and _NOTE_IN.search(before)):
        return True
    # "show a 'Copy link' button" asks for one; "a 'Copy link' button opens nothing"
    # describes one that is there
    if _ARTICLE.search(before) and not _HAS_A.search(before) and asks(
            sentence_around(text, start, stop if stop is not None else start)):
        return True
    if stop is not None and _INSTEAD.match(text[stop:stop + 30]):
        return True
    # a cue word inside a code name or a path ("Store.create()", "add_item",
    # "templates/build.html", "/build-history/") is no cue
    create = [m.end() for m in _CREATE_CUE.finditer(before)
              if not re.match(r"[\w(./-]\w", before[m.end():m.end() + 2])
              and not re.match(r"[\w(]", before[m.end():m.end() + 1])
              and not re.search(r"[\w./-]$", before[:m.start()]) and _cue_reaches(m, before)]
    firm = [m.end() for m in _FIRM_EXIST.finditer(before)]
    if create and (not firm or create[-1] > firm[-1]) and len(before) - create[-1] <= 60:
        return True
    if kind == "route" and not firm:
        end = _SENTENCE_END.search(text, start)
        sentence = text[left:end.start() if end else len(text)]
        return bool(_CAPABILITY.search(sentence))
    return False


def _ui_label(text: str, m: re.Match[str]) -> bool:
    """A quoted string that names something on screen: a UI noun right after it, or an
    on-screen verb right before it ("click 'Save'"), and not a path or a code name."""
    inner = m.group(1).strip()
    if not re.search(r"[A-Za-z]", inner) or len(inner.split()) > 6:
        return False
    if re.fullmatch(r"[a-z0-9_.\-/]+", inner) and re.search(r"[._/]", inner):
        return False  # 'text/csv', 'config.yml', 'user_id'
    after = text[m.end():m.end() + 30]
    before = text[max(0, m.start() - 20):m.start()]
    if _CLICKED.search(before) and not re.search(r"/|\\|://", inner):
        return True  # only something on screen is clicked (a link's address is no label)
    if (_UI_NOUN_BEFORE.search(before) or _UI_PLACE.search(
            text[max(0, m.start() - 60):m.start()])) and not re.search(r"/|\\|://", inner):
        return True
    return bool(_UI_AFTER.match(after) or (_UI_BEFORE.search(before)
                                           and re.match(r"\s*(on|in|from|under|at)\b", after)))


def _route_path(raw: str) -> str:
    """A path as the request wrote it, without the full stop that ends its sentence; an
    ellipsis segment (``PUT /api/reports/...``: whatever follows) is kept."""
    return raw if raw.endswith("/...") else raw.rstrip(".")


def extract_references(text: str) -> list[Reference]:
    """All code references in ``text``, de-duplicated by (kind, name), in order."""
    found: dict[tuple[str, str], Reference] = {}
    spans: list[tuple[int, int]] = []

    def add(kind: ClaimKind, name: str, m: re.Match[str], group: int = 1) -> None:
        s, e = m.span(group)
        if any(s >= a and e <= b for a, b in spans) or (kind == "symbol" and any(
                k == "setting" and (n == name or n.endswith("." + name)) for k, n in found)):
            return  # inside a reference already found, or a key already read as a setting
        if kind != "route" and _QUERY_PARAM.search(text[max(0, s - 40):s]):
            return  # a query-string parameter of a URL ("?name__startswith=")
        spans.append((s, e))
        key = (kind, name)
        if key not in found:
            found[key] = Reference(kind, name, sentence_around(text, s, e),
                                   _creates(text, s, kind, e))

    for m in re.finditer(r"\b[a-z][a-z0-9+.-]*://[^\s)>\]]+", text):
        spans.append(m.span())  # a URL: its host and path are not files of the repository
    for m in _QUOTED.finditer(text):
        if _ui_label(text, m):
            add("ui_text", m.group(1).strip(), m)
    for m in _ROUTE.finditer(text):
        add("route", f"{m.group(1)} {_route_path(m.group(2))}", m, 0)
    for m in _API_PATH.finditer(text):
        add("route", _route_path(m.group(1)), m)
    for m in _BARE_ROUTE.finditer(text):
        add("route", _route_path(m.group(1)), m)
    for m in _PARAM_ROUTE.finditer(text):
        add("route", _route_path(m.group(1)), m)
    for m in re.finditer(r"(?<![\w/.:)\]>}-])(/[A-Za-z{:<\[][\w/{}:<>\[\].-]*)", text):
        if _ROUTE_BEFORE.search(text[max(0, m.start() - 24):m.start()]):
            add("route", _route_path(m.group(1)), m)
    for m in _PART_ROUTE.finditer(text):
        add("route", m.group(1), m)
    for m in _ABS_ROUTE.finditer(text):
        # a quoted path is a value the request talks about ("listing '/x/' ignores ...")
        quoted = text[m.start() - 1:m.start()] in ("'", '"', "`", "\u2018", "\u201c")
        if not quoted and m.group(1).strip("/").split("/", 1)[0].lower() not in _FS_ROOT:
            add("route", m.group(1), m)
    for m in _PATH.finditer(text):
        name = m.group(1)
        if "/" not in name and name.lower().removesuffix(".js") in _TECH_JS:
            spans.append(m.span(1))
            continue
        add("file", name, m)
    for m in _DIR_PATH.finditer(text):
        if ("/" in m.group(1).strip("/") and not m.group(1).startswith("api/")
                and not _NOT_PATH_HEAD.match(m.group(1))):
            add("file", m.group(1).rstrip("/"), m)
    for m in _CONFIG_KEY.finditer(text):
        key = m.group(1)
        if key.count(":") > 1 or re.search(r"[A-Z_]", key):
            add("setting", key, m)
    for m in _TRAITLET.finditer(text):
        add("setting", m.group(1), m, 0)
    for m in _ENV.finditer(text):
        if m.group(1).endswith("_"):
            spans.append(m.span(1))  # "the WHOOGLE_CONFIG_* defaults": a family's prefix
            continue
        if text[m.start() - 1:m.start()] in ("-", ".") or re.match(r"[.-]\w", text[m.end():]):
            spans.append(m.span(1))  # part of a file name's pattern: journal_YYYY-MM-DD_HHMMSS.x
            continue
        if _VALUE_BEFORE.search(text[max(0, m.start() - 40):m.start()]):
            spans.append(m.span(1))  # a value: "codes such as 'SQLITE_BUSY'", "status PENDING_X"
            continue
        add("setting", m.group(1), m)
    assigned = {m.group(1) for m in _ASSIGNED_KEY.finditer(text)}
    for m in _DOTTED_KEY.finditer(text):
        key = m.group(1)
        near = text[max(0, m.start() - 60):m.end() + 60]
        if key.rsplit(".", 1)[1].lower() not in _HOST_END and ((_KEY_CONTEXT.search(
                sentence_around(text, m.start(), m.end())) and _KEY_CONTEXT.search(near))
                or set(key.split(".")) <= assigned):
            add("setting", key, m)  # the request wrote the keys of that path with values
    for m in _QUOTED_KEY.finditer(text):
        add("setting", m.group(2), m, 2)
    for m in _SET_TO.finditer(text):
        add("setting", m.group(1), m)
    for m in _SET_IN.finditer(text):
        add("setting", m.group(1), m)
    for m in _NAMED_SETTING.finditer(text):
        add("setting", m.group(1), m)
    for m in _ASSIGNED_KEY.finditer(text):
        if any(k == "setting" and n.endswith("." + m.group(1)) for k, n in found):
            continue  # a key of a dotted path the request names whole
        if re.search(r"[A-Z_]", m.group(1)):  # a section name alone ("paging") is prose too
            add("setting", m.group(1), m)
    for m in _CALL.finditer(text):
        add("symbol", m.group(1), m)
    for m in _DOTTED.finditer(text):
        if m.group(1).rsplit(".", 1)[1] not in _NOT_MEMBER:
            add("symbol", m.group(1), m)
    for m in _BACKTICK.finditer(text):
        inner = m.group(1).strip()
        if re.fullmatch(r"[A-Za-z_][\w.]*", inner):
            add("symbol", inner, m)
    for m in _NAMED_CODE.finditer(text):
        add("symbol", m.group(1), m)
    for m in _CAMEL.finditer(text):
        add("symbol", m.group(1), m)
    for m in _LOWER_CAMEL.finditer(text):
        if m.group(1) not in _NOT_CODE:
            add("symbol", m.group(1), m)
    for m in _SNAKE.finditer(text):
        add("symbol", m.group(1), m)
    return list(found.values())
