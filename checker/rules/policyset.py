"""Policy directories: the shipped ``policies/`` and any the user adds, with their catalog."""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from checker.engine.base import PolicyModule, packages_overlap
from checker.engine.regorus_engine import package_of
from checker.errors import PolicyError, UsageError
from checker.evidence.bundle import FileDigest, sha256_hex
from checker.evidence.files import read_text
from checker.rules.metadata import RuleMeta, parse_annotations


def builtin_policy_dir() -> Path:
    """The shipped policies: inside the installed package, or beside it in a source tree."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_policies"
    return installed if installed.is_dir() else package.parent / "policies"


@dataclass(frozen=True)
class PolicySet:
    """Every Rego module to load, the rules they annotate, and their digests."""

    modules: tuple[PolicyModule, ...]
    tests: tuple[PolicyModule, ...]
    rules: tuple[RuleMeta, ...]
    files: tuple[FileDigest, ...]


RESERVED = "data.knightwatch"
_PACKAGE = re.compile(r"\bpackage\s+([A-Za-z_][\w.]*)")


def _check_namespace(module: PolicyModule) -> str:
    """Added policies live outside ``knightwatch.*``: a module in a shipped package could add
    a body to one of its rules or functions (``default independently_approved(_) := true``)
    and so waive a shipped rule from inside, where no report would show it. The package is
    read by the engine's own parser; it is returned."""
    try:
        package = package_of(module)
    except PolicyError:
        # The engine that loads it reports the syntax error in its own words; what can be
        # read of the package without comments must still not be a shipped one.
        found = _PACKAGE.search(re.sub(r"#[^\n]*", "", module.source))
        package = f"data.{found.group(1)}" if found else ""
    if package == RESERVED or package.startswith(RESERVED + "."):
        raise PolicyError(
            f"{module.name}: package {package.removeprefix('data.')} is reserved for the "
            "shipped policies; put added rules in a package of their own (e.g. acme.tickets)"
        )
    return package


def _display(path: Path, root: Path, label: str) -> str:
    return PurePosixPath(label, path.relative_to(root).as_posix()).as_posix()


def _label(directory: Path, repository: Path | None) -> str:
    """How a directory's files are named in reports: the shipped policies as ``policies``;
    others relative to the repository, so that a report does not depend on where the
    repository was checked out (a replay elsewhere finds the same names); without a
    repository, as given."""
    if directory.resolve() == builtin_policy_dir().resolve():
        return "policies"
    if repository is None:
        return directory.as_posix().rstrip("/")
    relative = os.path.relpath(directory.resolve(), repository.resolve())
    return PurePosixPath(Path(relative).as_posix()).as_posix()


def load_policy_set(
    extra_dirs: list[Path] | None = None,
    *,
    include_builtin: bool = True,
    repository: Path | None = None,
    own: Collection[Path] = (),
) -> PolicySet:
    """Discover ``*.rego`` below each directory; ``*_test.rego`` files are tests. With a
    ``repository``, files are named relative to it; ``own``: those of ``extra_dirs`` that the
    repository's own knightwatch.yaml names (``_check_packages_apart``)."""
    modules: list[PolicyModule] = []
    tests: list[PolicyModule] = []
    digests: list[FileDigest] = []
    rules: list[RuleMeta] = []
    added: list[tuple[PolicyModule, str, bool]] = []
    homes: list[tuple[PolicyModule, str, Path]] = []
    roots = _roots(_theirs_first(extra_dirs or [], own), include_builtin, repository)
    for path, name, shipped in _files(roots):
        data = read_text(path)
        module = _module(name, data)
        package = "" if shipped else _check_namespace(module)
        if path.name.endswith("_test.rego"):
            _check_no_rule_declared(module)
            tests.append(module)
        else:
            # Only modules that can change a verdict are recorded among the inputs.
            digests.append(FileDigest("policy", name, sha256_hex(data)))
            modules.append(module)
            found = parse_annotations(module.source, name)
            if not shipped:
                _check_judged_whole(found)
                added.append((module, package, bool(found)))
                homes.append((module, package, _innermost(path, roots)))
            rules.extend(found)
    _check_unique(rules)
    if include_builtin:
        _check_some_rule_added(roots, added)
    _check_packages_apart(homes, {directory.resolve() for directory in own})
    _check_input_reads(_of_rule_packages(added))
    return PolicySet(
        modules=tuple(modules),
        tests=tuple(tests),
        rules=tuple(sorted(rules, key=lambda r: r.id)),
        files=tuple(sorted(digests, key=lambda d: d.path)),
    )


def _check_no_rule_declared(module: PolicyModule) -> None:
    """A ``*_test.rego`` file is a test, loaded by ``policy test`` alone: a rule declared in
    it (a METADATA block with custom.id) was never evaluated by a check, and the run passed
    with the rule left out of its catalog."""
    declared = parse_annotations(module.source, module.name)
    if declared:
        raise PolicyError(
            f"{module.name}:{declared[0].line}: rule {declared[0].id} is declared in a test "
            "file (*_test.rego), which only `policy test` loads, so it would never be evaluated",
            hint="move the rule to a file whose name does not end in _test.rego",
        )


def _theirs_first(extra_dirs: list[Path], own: Collection[Path]) -> list[Path]:
    """``extra_dirs``, those of whoever runs the check before the repository's ``own``: a file
    reached from both (through a symbolic link in the repository's directory to a file of an
    auditor's, ``our-rules/tickets.rego -> ../../auditor-rules/tickets.rego``) is read once,
    where it is first found, and is then the auditor's. Found first through the link, it was
    the repository's, and the repository's modules of its package (``frozen if true``) were
    of one side with it: they emptied the auditor's rule, and the signed audit named the file
    as the repository's."""
    mine = {directory.resolve() for directory in own}
    return sorted(extra_dirs, key=lambda directory: directory.resolve() in mine)


def _check_some_rule_added(
    roots: list[tuple[Path, str, bool]], added: list[tuple[PolicyModule, str, bool]]
) -> None:
    """Policy directories added to the shipped ones declare a rule between them (a METADATA
    block with custom.id): a directory given by mistake (an empty one, the tests' alone) or
    whose rules lack their declaration added nothing, and the run passed as though its rules
    had been judged. Helpers may sit in a directory of their own beside the rules'."""
    extra = [label for _, label, shipped in roots if not shipped]
    if extra and not any(declares for _, _, declares in added):
        raise UsageError(
            f"the added policy {'directory' if len(extra) == 1 else 'directories'} "
            f"{', '.join(extra)} declare{'s' if len(extra) == 1 else ''} no rule: no module "
            "below has a METADATA block with custom.id, so no added rule would be judged",
            hint="check the directory given, and declare each rule in a '# METADATA' block "
            "with custom: id, severity, controls, requires and message (docs/policies.md)",
        )


def _roots(
    extra_dirs: list[Path] | None, include_builtin: bool, repository: Path | None
) -> list[tuple[Path, str, bool]]:
    """Each policy directory, the name its files are reported under, and whether it is the
    shipped one."""
    roots: list[tuple[Path, str, bool]] = []
    if include_builtin:
        roots.append((builtin_policy_dir(), "policies", True))
    for directory in extra_dirs or []:
        if not directory.is_dir():
            raise UsageError(f"policy directory not found: {directory}")
        shipped = directory.resolve() == builtin_policy_dir().resolve()
        roots.append((directory, _label(directory, repository), shipped))
    return roots


def _files(roots: list[tuple[Path, str, bool]]) -> Iterator[tuple[Path, str, bool]]:
    """Every ``*.rego`` file once, with the name it is reported under; two files that would
    be reported under one name are an error."""
    seen: set[Path] = set()
    names: dict[str, Path] = {}
    for root, label, shipped in roots:
        for path in sorted(root.rglob("*.rego")):
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            name = _display(path, root, label)
            if name in names:
                raise PolicyError(
                    f"{name}: two policy files would be recorded under this name ({names[name]} "
                    f"and {path}); move one of them"
                )
            names[name] = path
            yield path, name, shipped


def _innermost(path: Path, roots: list[tuple[Path, str, bool]]) -> Path:
    """The policy directory ``path`` (found below one of ``roots``) belongs to: the innermost
    given that holds it (the repository's own ``.`` holds the auditor's ``ci/rules``, whose
    files stay the auditor's)."""
    where = {*path.absolute().parents, *path.resolve().parents}
    holding = [
        root.resolve()
        for root, _, _ in roots
        if root.absolute() in where or root.resolve() in where
    ]
    return max(holding, key=lambda root: len(root.parts))


def _check_packages_apart(homes: list[tuple[PolicyModule, str, Path]], own: set[Path]) -> None:
    """Each package of the added policies (with the packages under it) lies in the policy
    directories of one side: the repository's own (``own``, its knightwatch.yaml's
    ``policies:``), or those of whoever runs the check (the command line's, an auditor's
    ``--config``). Rego merges every module of a package, wherever its file is: a module in
    another directory's package adds bodies to its rules (``frozen if true``,
    ``ticketed contains d.id if some d in input.deployments``) and empties them. The
    repository's own ``policies:``, which an audit and a gate apply as more rules, would
    otherwise switch off an auditor's or a platform's rule with no finding and no setting to
    show it; ``package acme`` around ``acme.tickets`` (``tickets.frozen if true``) likewise.
    Directories of one side may share a package (helpers in ``rules/common``, rules in
    ``rules/tickets``): whoever wrote one wrote the other."""
    seen: dict[tuple[str, ...], tuple[PolicyModule, Path]] = {}
    for module, package, home in homes:
        parts = tuple(package.removeprefix("data.").split("."))
        for other, (first, where) in seen.items():
            if (where in own) == (home in own) or not packages_overlap(parts, other):
                continue
            shared = "is also" if parts == other else f"merges with {'.'.join(other)},"
            raise PolicyError(
                f"{module.name}: package {'.'.join(parts)} {shared} the package of "
                f"{first.name}, a file of another policy directory ({where}, not {home}): "
                "the rules of one would add to the other's and could empty them",
                hint="give the repository's own rules packages of their own (acme.team.tickets "
                "beside acme.audit.tickets)",
            )
        seen.setdefault(parts, (module, home))


def _module(name: str, data: bytes) -> PolicyModule:
    try:
        module = PolicyModule(name, data.decode("utf-8"))
    except UnicodeDecodeError:
        raise PolicyError(f"{name}: not UTF-8 text") from None
    check_nesting(module)
    return module


MAX_NESTING = 32
"""Brackets a policy may nest: the engine's parser takes time exponential in the depth (a
few seconds at 18, hours at 25), in native code no signal interrupts."""


def check_nesting(module: PolicyModule) -> None:
    """Refuse brackets nested deeper than ``MAX_NESTING`` before the engine parses them;
    strings (with their escapes), raw strings and comments do not count."""
    depth, line, quote = 0, 1, ""
    text = module.source
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\n":
            line += 1
        if quote:
            index += 2 if char == "\\" and quote == '"' else 1
            quote = "" if char == quote else quote
            continue
        if char in '"`':
            quote = char
        elif char == "#":
            index = text.find("\n", index)
            index = len(text) if index < 0 else index
            continue
        elif char in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise PolicyError(
                    f"{module.name}:{line}: brackets nested more than {MAX_NESTING} deep"
                )
        elif char in ")]}":
            depth = max(0, depth - 1)
        index += 1


def _of_rule_packages(added: list[tuple[PolicyModule, str, bool]]) -> list[PolicyModule]:
    """The added modules (each with its package, and whether it declares rules) of every
    package in which some added module declares rules: a package may span files, and a
    rule's bodies may sit in a file without METADATA."""
    packages = {package for _, package, declares in added if declares}
    return [module for module, package, _ in added if package in packages]


def _check_judged_whole(rules: list[RuleMeta]) -> None:
    """``per_deployment`` (judged over slices of the deployments) is for knightwatch's own
    rules, each read for it: an added rule that also looked at other deployments (a count of
    the month's) would answer differently once a month held more than a slice."""
    for rule in rules:
        if rule.per_deployment:
            raise PolicyError(
                f"{rule.file}:{rule.line}: METADATA custom.per_deployment is for knightwatch's "
                "own rules; an added rule is always judged on every deployment at once",
                hint="remove per_deployment from the rule's METADATA",
            )


def _check_input_reads(modules: list[PolicyModule]) -> None:
    """An added module of a package that declares rules (``custom.id``) may not read a field
    the input document does not have (a module of Rego alone, tested with inputs of its own,
    is not held to knightwatch's input): a misspelt field, or one the document no longer has
    (``deployment.shipped`` became ``shipped_range``), is undefined in Rego, and a rule
    reading it would silently find nothing. The reads that can be traced to the input's
    schema are checked (``some d in input.deployments; d.shiped``); what cannot be traced is
    not judged."""
    if not modules:
        return
    from checker.rules.input_refs import unknown_fields
    from checker.schemas import input_schema

    try:
        misses = unknown_fields([(m.name, m.source) for m in modules], {"input": input_schema()})
    except PolicyError:
        return  # a module that does not parse: loading it into the engine says where
    if misses:
        raise PolicyError(
            f"{misses[0]}: the input document has no such field, so the rule would never see it",
            hint="`knightwatch schema input --format markdown` lists every field",
        )


def _check_unique(rules: list[RuleMeta]) -> None:
    by_id: dict[str, RuleMeta] = {}
    for rule in rules:
        if rule.id in by_id:
            first = by_id[rule.id]
            raise PolicyError(
                f"{rule.file}:{rule.line}: rule id {rule.id} is already used at "
                f"{first.file}:{first.line}"
            )
        by_id[rule.id] = rule
