"""Rule metadata read from OPA ``# METADATA`` annotations, so the files run unchanged under OPA.

The embedded engine does not implement ``rego.metadata``; the runner reads the annotations
here and joins them to what each rule emits.
"""

from __future__ import annotations

import difflib
import functools
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from checker.errors import PolicyError
from checker.evidence.messages import describe_validation_error, did_you_mean
from checker.facts.coverage import EVIDENCE_NAMES
from checker.vocabulary import GateTag, Severity

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*-\d{3}$")
_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*)\s*$")
_RULE_HEAD = re.compile(r"^([A-Za-z_]\w*)\b")
_SET_HEAD = re.compile(r"^[A-Za-z_]\w*\s+contains\b")


def _evidence_name(name: str) -> str:
    if name not in EVIDENCE_NAMES:
        raise ValueError(
            f"{name!r} is not evidence a rule can require{did_you_mean(name, EVIDENCE_NAMES)}; "
            f"the names are {', '.join(EVIDENCE_NAMES)}"
        )
    return name


EvidenceName = Annotated[str, AfterValidator(_evidence_name)]
SUBJECT_PARTS = ("deployment", "commit", "host", "flag", "at", "path", "rule", "subject")
"""What a rule's ``subject`` template may be made of, e.g. ``{deployment}:{host}``."""


class _Custom(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    id: str = Field(pattern=RULE_ID.pattern)
    severity: Severity
    controls: list[str] = Field(min_length=1)
    message: str = Field(min_length=1)
    requires: list[EvidenceName] = []
    optional: list[EvidenceName] = []
    stage: Literal["findings", "waivers"] = "findings"
    gate: list[GateTag] = []
    subject: str | None = None
    cause: str | None = Field(default=None, min_length=1)
    statement: str | None = Field(default=None, min_length=1)
    cause_waivers: bool = True
    per_deployment: bool = False


class _Annotation(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    scope: str = "rule"
    custom: _Custom


@dataclass(frozen=True)
class RuleMeta:
    """A rule in the catalog: what it checks, where it lives, and how to word its findings."""

    id: str
    severity: str
    title: str
    description: str
    controls: tuple[str, ...]
    message: str
    """A template: ``{subject}`` and the fields the rule emits."""
    requires: tuple[str, ...]
    """Evidence files without which the rule cannot be judged."""
    optional: tuple[str, ...]
    """Evidence files without which the rule is judged on the rest only (the report says so)."""
    stage: str
    """``waivers``: evaluated after every other rule, with ``input.waivers`` filled in."""
    gate: tuple[str, ...]
    """The gates (``merge``, ``deploy``) where the rule judges a candidate."""
    subject: str | None
    """The shape of its subjects, e.g. ``{deployment}:{host}`` (waivers are checked against
    it); None when the rule does not say."""
    path: str
    """``data.<package>.<rule>``."""
    file: str
    line: int
    cause: str | None = None
    """A template over the fields the rule emits, e.g. ``{flag}``: findings whose cause renders
    the same are one group (one cause, many instances). None: each subject is its own cause."""
    statement: str | None = None
    """A one-line statement of a cause, a template over the cause's fields only (so that it is
    the same for every instance of the group)."""
    cause_waivers: bool = True
    """False where the cause is chosen by whoever the rule judges (an author's address): a
    waiver by cause would then cover whatever is done under that name next."""
    per_deployment: bool = False
    """Each finding is judged from one deployment of ``input.deployments`` (and the rest of
    the input), never from another deployment: the embedded engine may judge the deployments
    in slices, so that a storm of findings is never held whole."""


def _near_misses(custom: dict[str, object]) -> None:
    """``custom:`` may hold keys of the author's own, but not a misspelling of one of ours:
    ``requirez: [fleet]`` would otherwise leave the rule judged without its evidence."""
    ours = list(_Custom.model_fields)
    for key in custom:
        if key not in ours:
            near = difflib.get_close_matches(str(key), ours, n=1, cutoff=0.75)
            if near:
                raise ValueError(f"custom.{key}: unknown key (did you mean {near[0]!r}?)")


def template_order(template: str) -> tuple[str, ...]:
    """The fields a template names, in its order: ``{deployment}:{host}``, deployment then
    host."""
    return tuple(re.findall(r"\{(\w+)\}", template))


def template_fields(template: str) -> frozenset[str]:
    """The fields a template names: ``{deployment}:{host}`` names deployment and host."""
    return _fields(template)


@functools.lru_cache(maxsize=256)
def _fields(template: str) -> frozenset[str]:
    """The placeholders of a template (once per template: a storm fills one 300,000 times)."""
    names: set[str] = set()
    for _, name, spec, _ in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec:
            raise ValueError(
                f"message placeholder {{{name}{':' + spec if spec else ''}}} must be a plain name"
            )
        names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class _Block:
    """A ``# METADATA`` comment block, and what follows it."""

    start: int
    """The line of ``# METADATA`` (1-based)."""
    text: str
    """The block's YAML, comment markers removed."""
    package: str | None
    """The package declared above it."""
    head: str | None
    """The name of the rule it annotates: the first word of the next line of code."""
    line: int
    """That line (1-based)."""
    is_set: bool
    """Whether that line defines a set (``name contains ...``)."""
    end: int
    """The block's last comment line (1-based)."""


def _blocks(source: str) -> Iterator[_Block]:
    """Every ``# METADATA`` block of a module, with the package above and the rule below it."""
    lines = source.splitlines()
    package = None
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        match = _PACKAGE.match(stripped)
        package = match.group(1) if match else package
        index += 1
        if stripped != "# METADATA":
            continue
        start, block = index, []
        while index < len(lines) and lines[index].lstrip().startswith("#"):
            text = lines[index].lstrip()[1:]
            block.append(text[1:] if text.startswith(" ") else text)
            index += 1
        while index < len(lines) and not lines[index].strip():
            index += 1
        code = lines[index].strip() if index < len(lines) else ""
        head = _RULE_HEAD.match(code)
        yield _Block(
            start,
            "\n".join(block),
            package,
            head.group(1) if head else None,
            index + 1,
            bool(_SET_HEAD.match(code)),
            start + len(block),
        )


def _annotation(block: _Block, file: str) -> _Annotation | None:
    """The block's annotation, validated; None for one without our fields (documentation
    only); a policy error at its line for one that is wrong."""
    try:
        document = yaml.safe_load(block.text) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"{file}:{block.start}: METADATA is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        return None
    _check_declared(document, block, file)
    if not isinstance(document.get("custom"), dict) or "id" not in document["custom"]:
        return None
    try:
        _near_misses(document["custom"])
        annotation = _Annotation.model_validate(document)
        _fields(annotation.custom.message)
        unknown = _fields(annotation.custom.subject or "") - set(SUBJECT_PARTS)
        if unknown:
            raise ValueError(
                f"subject part {{{sorted(unknown)[0]}}} is not one of "
                + ", ".join(f"{{{p}}}" for p in SUBJECT_PARTS)
            )
        _cause_fields(annotation.custom.cause, annotation.custom.statement)
        _per_deployment(annotation.custom)
    except (ValidationError, ValueError) as exc:
        text = (
            describe_validation_error(exc, _Annotation)[0]
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        raise PolicyError(f"{file}:{block.start}: METADATA {text}") from None
    return annotation


_DECLARING = ("id", "severity", "controls", "message", "requires")
"""Keys of ``custom`` that only a rule's declaration holds."""

_NEAR_MARKER = re.compile(r"#\s*metadata\s*:?\s*", re.IGNORECASE)


def _check_declared(document: dict[str, object], block: _Block, file: str) -> None:
    """A block that holds a rule's keys declares the rule, with ``custom.id``: ``id:`` written
    at the top level, or ``custom:`` without ``id``, declared nothing, and the rule below was
    never evaluated while the run passed."""
    custom = document.get("custom")
    inside = custom if isinstance(custom, dict) else {}
    outside = [key for key in _DECLARING if key in document]
    if outside and "id" not in inside:
        raise PolicyError(
            f"{file}:{block.start}: METADATA {outside[0]}: is at the top level; a rule's "
            f"{', '.join(outside)} go under custom: (custom.id), else the rule is not declared "
            "and is never evaluated"
        )
    given = [key for key in _DECLARING if key in inside]
    if given and "id" not in inside:
        raise PolicyError(
            f"{file}:{block.start}: METADATA custom: has {', '.join(given)} but no id; "
            "without custom.id the rule is not declared and is never evaluated"
        )


_ID_LINE = r"\bid:\s*[\"']?([A-Z][A-Z0-9]*-\d{3})\b"
_ID_IN_COMMENT = re.compile(r"^\s*#.*" + _ID_LINE)
_ID_IN_BLOCK = re.compile(_ID_LINE)


def _check_unread_ids(source: str, file: str, read: list[_Block]) -> None:
    """A rule id written in a comment that no ``# METADATA`` block reads (a blank line
    inside the block, which ends it there as it does for OPA; ``## METADATA``;
    ``# METADATA # tickets``) declared nothing: the rule below was never evaluated while
    the run passed, and the directory's other rules hid that it declared none."""
    inside = {line for block in read for line in range(block.start, block.end + 1)}
    for number, line in enumerate(source.splitlines(), start=1):
        found = _ID_IN_COMMENT.match(line)
        if found and number not in inside:
            raise PolicyError(
                f"{file}:{number}: rule id {found.group(1)} is in a comment that no "
                "'# METADATA' block reads, so its rule is never evaluated: open the block "
                "with '# METADATA' alone on its line, and keep its lines together up to the "
                "rule (a blank line ends the block)"
            )


def _check_nothing_declared(block: _Block, file: str) -> None:
    """A block read as documentation alone holds no rule id: ``custom:`` written as a list
    (``- id: ACME-001``), or given again below as ``custom: {}``, declared nothing, and the
    rule below was never evaluated while the run passed."""
    found = _ID_IN_BLOCK.search(block.text)
    if found:
        raise PolicyError(
            f"{file}:{block.start}: METADATA holds rule id {found.group(1)} but declares no "
            "rule: custom: must be one mapping holding id (custom: then id: indented below "
            "it, no '- '), else the rule is never evaluated"
        )


def _check_markers(source: str, file: str) -> None:
    """Only ``# METADATA`` opens an annotation (OPA's marker): ``# metadata`` or ``#METADATA``
    opened none, and the rule below was never evaluated while the run passed."""
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped != "# METADATA" and _NEAR_MARKER.fullmatch(stripped):
            raise PolicyError(
                f"{file}:{number}: {stripped!r} is not the annotation marker: write "
                "'# METADATA' exactly, else the block below is not read and its rule is "
                "never evaluated"
            )


def _per_deployment(custom: _Custom) -> None:
    """A rule judged in slices of the deployments must name its deployment in its subject:
    one that gathers deployments into one finding (a flag overdue in many) cannot be judged
    a slice at a time, and its subject shows it."""
    if custom.per_deployment and "deployment" not in _fields(custom.subject or ""):
        raise ValueError(
            "custom.per_deployment needs a custom.subject naming {deployment}: a rule judged "
            "a slice of the deployments at a time must find each deployment's findings alone"
        )


def _cause_fields(cause: str | None, statement: str | None) -> None:
    """A cause names at least one field; its statement names no field the cause does not, so
    that every instance of a group reads the same statement."""
    if cause is None:
        if statement is not None:
            raise ValueError("custom.statement needs custom.cause (the fields it states)")
        return
    named = _fields(cause)
    if not named:
        raise ValueError(f"custom.cause {cause!r} names no field of the finding")
    extra = _fields(statement or "") - named
    if extra:
        raise ValueError(
            f"custom.statement names {{{sorted(extra)[0]}}}, which custom.cause does not: a "
            "group's statement may only state what all its instances share"
        )


def _check_set(block: _Block, file: str) -> None:
    """A finding rule is a set (``name contains x if ...``): a set is defined, empty when
    nothing is found, once its module is loaded. A rule of another kind (``name := {...} if
    ...``, a function, a ``default``) is undefined where its body fails, and undefined would
    read as no findings: a rule that stopped matching its input would pass silently. With
    every finding rule a set, an engine that answers undefined did not evaluate the policies
    it was given, and the run stops (see ``Engine.no_value``)."""
    if not block.is_set:
        raise PolicyError(
            f"{file}:{block.line}: the rule {block.head} that a METADATA block with a custom.id "
            f"annotates must be a set ({block.head} contains ... if ...), which is empty, never "
            "undefined, when it finds nothing"
        )


def parse_annotations(source: str, file: str) -> list[RuleMeta]:
    """Every annotated rule that carries a ``custom.id`` in one Rego module."""
    rules: list[RuleMeta] = []
    _check_markers(source, file)
    blocks = list(_blocks(source))
    _check_unread_ids(source, file, blocks)
    for block in blocks:
        annotation = _annotation(block, file)
        if annotation is None:
            _check_nothing_declared(block, file)
            continue
        if (
            annotation.scope != "rule"
            or block.head is None
            or block.package is None
            or block.head == "package"
        ):
            raise PolicyError(
                f"{file}:{block.start}: a METADATA block with a custom.id must annotate a rule "
                "(scope: rule, directly above the rule, after the package line)"
            )
        _check_set(block, file)
        custom = annotation.custom
        rules.append(
            RuleMeta(
                id=custom.id,
                severity=custom.severity,
                title=annotation.title.strip(),
                description=" ".join(annotation.description.split()),
                controls=tuple(custom.controls),
                message=custom.message.strip(),
                requires=tuple(custom.requires),
                optional=tuple(custom.optional),
                stage=custom.stage,
                gate=tuple(custom.gate),
                subject=custom.subject,
                path=f"data.{block.package}.{block.head}",
                file=file,
                line=block.line,
                cause=custom.cause,
                statement=custom.statement,
                cause_waivers=custom.cause_waivers,
                per_deployment=custom.per_deployment,
            )
        )
    return rules


def _fill(rule: RuleMeta, template: str, fields: dict[str, object], what: str) -> str:
    """The template filled with the fields it names (and only those: a storm's finding
    carries lists of files its cause does not need); a field the rule did not emit is a
    policy error."""
    names = _fields(template)
    missing = names - fields.keys()
    if missing:
        raise PolicyError(
            f"{rule.file}:{rule.line}: rule {rule.id} emitted no {', '.join(sorted(missing))} "
            f"for its {what}"
        )
    return template.format_map({k: _text(fields[k]) for k in names})


def format_message(rule: RuleMeta, fields: dict[str, object]) -> str:
    """The finding's message from the rule's template and the fields it emitted."""
    return _fill(rule, rule.message, fields, "message")


def format_cause(rule: RuleMeta, fields: dict[str, object]) -> str | None:
    """The finding's cause within its rule, from the rule's ``cause`` template; None for a rule
    without one (each subject is then its own cause)."""
    return None if rule.cause is None else _fill(rule, rule.cause, fields, "cause")


def format_statement(rule: RuleMeta, fields: dict[str, object]) -> str:
    """A group's one-line statement: the rule's ``statement`` template over the cause's fields,
    or the rule's title."""
    if rule.statement is None or rule.cause is None:
        return rule.title
    return _fill(rule, rule.statement, fields, "statement")


def _text(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)
