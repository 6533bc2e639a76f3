"""YAML loading with YAML 1.2 core-schema types, duplicate-key errors and line numbers.

PyYAML alone follows YAML 1.1 (`NO` becomes False, `0012` becomes 10) and keeps the last of two
duplicate keys; here its fast composer builds the node tree and this module turns nodes into plain
values, resolving scalars by the 1.2 core schema and remembering where every key and item stood.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import yaml

from ..errors import SiteError

try:  # the libyaml composer is several times faster; the pure one gives identical nodes
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader

MAX_NODES = 200_000
"""Upper bound on values built from one document, so alias bombs cannot exhaust memory."""


class YamlMap(dict):
    """A mapping that remembers the 1-based line and column of itself and of each key (`key_marks`,
    shared by mappings laid out alike: read only once loaded)."""

    line: int = 0
    column: int = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_marks: dict = {}

    def where(self, key) -> tuple[int, int]:
        """Return (line, column) of `key`, or of the mapping itself when the key is absent."""
        return self.key_marks.get(key, (self.line, self.column))


class YamlList(list):
    """A sequence that remembers the 1-based line and column of itself and of each item."""

    line: int = 0
    column: int = 0

    def __init__(self, *args):
        super().__init__(*args)
        self.item_marks: tuple[tuple[int, int], ...] | list[tuple[int, int]] = []

    def where(self, index: int) -> tuple[int, int]:
        """Return (line, column) of item `index`."""
        if 0 <= index < len(self.item_marks):
            return self.item_marks[index]
        return (self.line, self.column)


_INT = re.compile(r"[-+]?[0-9]+$")
_OCT = re.compile(r"0o[0-7]+$")
_HEX = re.compile(r"0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"\.(nan|NaN|NAN)$")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?"
    r"([ \t]*(Z|[-+][0-9]{1,2}(:?[0-9]{2})?))?$"
)


class YamlProblem(Exception):
    """A YAML document could not be loaded; `line`/`column` are 1-based within that document."""

    def __init__(self, message: str, line: int = 0, column: int = 0):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


_SHARED: dict = {}
"""Marks and keys met before, handed out again: a site's front matters mostly sit on the same
lines with the same keys, and their marks are kept for as long as the articles are."""
MAX_SHARED = 1 << 16


def _shared(value, key=None):
    """The value remembered under `key` (by default the value itself) when there is one, else
    this one, remembered while there is room."""
    key = value if key is None else key
    found = _SHARED.get(key)
    if found is not None:
        return found
    if len(_SHARED) < MAX_SHARED:
        _SHARED[key] = value
    return value


def _mark(node, offset: int = 0) -> tuple[int, int]:
    return _shared((node.start_mark.line + 1 + offset, node.start_mark.column + 1))


def _scalar(node):
    value: str = node.value
    if node.tag == "tag:yaml.org,2002:str" or node.style in ("'", '"', "|", ">"):
        return value
    if node.tag not in ("tag:yaml.org,2002:str", "!", None) and not node.tag.startswith("tag:yaml.org,2002:"):
        raise YamlProblem(f"unknown tag {node.tag}", *_mark(node))
    if value in ("", "~", "null", "Null", "NULL"):
        return None
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    if _INT.match(value):
        return int(value, 10)
    if _OCT.match(value):
        return int(value[2:], 8)
    if _HEX.match(value):
        return int(value[2:], 16)
    if _FLOAT.match(value) and value not in (".", "-.", "+."):
        return float(value)
    if _INF.match(value):
        return -math.inf if value.startswith("-") else math.inf
    if _NAN.match(value):
        return math.nan
    if _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise YamlProblem(f"impossible date {value!r}: {exc}", *_mark(node)) from None
    if _TIMESTAMP.match(value):
        return _timestamp(value, node)
    return value


def _timestamp(value: str, node) -> dt.datetime:
    text = re.sub(r"[ \t]+(?=[0-9]{1,2}:)", "T", value.strip(), count=1)
    text = re.sub(r"[ \t]+(?=Z|[-+])", "", text)
    text = text.replace("t", "T")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    date_part, _, rest = text.partition("T")
    y, m, d = date_part.split("-")
    text = f"{int(y):04d}-{int(m):02d}-{int(d):02d}T{rest}"
    hour, _, tail = rest.partition(":")
    if len(hour) == 1:
        text = text.replace(f"T{rest}", f"T0{rest}")
    tz = re.search(r"([-+])([0-9]{1,2}):?([0-9]{2})?$", text[11:])
    if tz:
        sign, hh, mm = tz.groups()
        start = 11 + tz.start()
        text = f"{text[:start]}{sign}{int(hh):02d}:{mm or '00'}"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise YamlProblem(f"impossible date or time {value!r}: {exc}", *_mark(node)) from None


def _build(node, budget: list[int], offset: int, depth: int = 0):
    budget[0] -= 1
    if budget[0] < 0:
        raise YamlProblem(f"document expands to more than {MAX_NODES} values (aliases nested too deeply?)", *_mark(node))
    if depth > 100:
        raise YamlProblem("nesting deeper than 100 levels", *_mark(node))
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        out = YamlList()
        out.line, out.column = _mark(node, offset)
        for item in node.value:
            out.append(_build(item, budget, offset, depth + 1))
            out.item_marks.append(_mark(item, offset))
        out.item_marks = _shared(tuple(out.item_marks))
        return out
    if isinstance(node, yaml.MappingNode):
        out = YamlMap()
        out.line, out.column = _mark(node, offset)
        for key_node, value_node in node.value:
            key = _build(key_node, budget, offset, depth + 1)
            if isinstance(key, (YamlMap, YamlList)):
                raise YamlProblem("a mapping key must be a plain value", *_mark(key_node))
            if key == "<<":
                raise YamlProblem("merge keys (<<) are not supported; write the keys out", *_mark(key_node))
            if key in out:
                first = out.key_marks[key][0]
                raise YamlProblem(f"duplicate key {key!r} (first defined on line {first}); keep only one", *_mark(key_node))
            if type(key) is str:
                key = _shared(key)
            out[key] = _build(value_node, budget, offset, depth + 1)
            out.key_marks[key] = _mark(key_node, offset)
        out.key_marks = _marks_of(out.key_marks)
        return out
    raise YamlProblem(f"unsupported YAML node {type(node).__name__}", *_mark(node))  # pragma: no cover


def _marks_of(marks: dict) -> dict:
    """The marks of a mapping, as a mapping laid out alike before had them: shared, read only."""
    try:
        return _shared(marks, ("marks", *marks.items()))
    except TypeError:  # an unhashable key: never shared
        return marks


def load(text: str, line_offset: int = 0):
    """Parse one YAML document into plain values; YamlMap/YamlList keep line numbers, shifted by `line_offset`."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        if exc.context and exc.problem:
            problem = f"{problem} ({exc.context}"
            start = exc.context_mark
            if start and mark and (start.line, start.column) != (mark.line, mark.column):
                problem += f" that starts on line {start.line + 1 + line_offset}, column {start.column + 1}"
            problem += ")"
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise YamlProblem(f"malformed YAML: {problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"malformed YAML: {exc}") from None
    if node is None:
        return None
    return _build(node, [MAX_NODES], line_offset)


def load_file_text(text: str, path: str, line_offset: int = 0):
    """Parse YAML found at `path` (starting after `line_offset` lines), raising SiteError-ready problems."""
    try:
        return load(text, line_offset)
    except YamlProblem as exc:
        raise LocatedProblem(SiteError(path, exc.line + line_offset if exc.line else 0, exc.column, exc.message)) from None


class LocatedProblem(Exception):
    """A YamlProblem already placed in its file."""

    def __init__(self, error: SiteError):
        super().__init__(str(error))
        self.error = error
