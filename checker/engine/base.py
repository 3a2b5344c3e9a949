"""The engine interface: load Rego modules, set data and input, evaluate rules by path."""

from __future__ import annotations

import abc
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from checker.errors import InternalError, KnightwatchError, PolicyError

UNDEFINED: Any = type("Undefined", (), {"__repr__": lambda self: "<undefined>"})()
"""What ``evaluate`` returns for a rule with no value (distinct from every JSON value)."""

_LOCATION = re.compile(r"-->\s*(?P<where>\S+:\d+:\d+)")
_ERROR_LINE = re.compile(r"^\s*error:\s*(?P<text>.+)$", re.MULTILINE)


@dataclass(frozen=True)
class PolicyModule:
    """One Rego file: the name it is reported under, and its text."""

    name: str
    source: str


class Engine(abc.ABC):
    """A Rego evaluator. Every failure surfaces as a PolicyError naming file and line."""

    name: str = "engine"

    @abc.abstractmethod
    def load(self, modules: list[PolicyModule]) -> None:
        """Load policy modules; syntax and compile errors raise PolicyError."""

    @abc.abstractmethod
    def set_data(self, data: dict[str, Any]) -> None:
        """Replace the base data document."""

    @abc.abstractmethod
    def set_input(self, document: Mapping[str, Any]) -> None:
        """Replace the input document."""

    @abc.abstractmethod
    def evaluate(self, path: str) -> Any:
        """The value of the rule at ``path`` (``data.pkg.rule``), or UNDEFINED. The value is
        the caller's: it may consume it, and the engine keeps no reference to it."""

    def evaluate_json(self, path: str) -> str:
        """The rule's answer as one line of JSON text, ``{"result": [{"expressions":
        [{"value": V}]}]}`` (no result when undefined): what the isolated engine's child passes
        on without building Python values of it (``answer_value`` reads it)."""
        value = self.evaluate(path)
        results = [] if value is UNDEFINED else [{"expressions": [{"value": value}]}]
        return json.dumps({"result": results})

    def no_value(self, path: str) -> KnightwatchError:
        """The error for a finding rule that has no value. Every finding rule is a set
        (``parse_annotations`` refuses any other kind), and a set is defined, empty when it
        finds nothing, once its module is loaded: undefined means the engine did not evaluate
        the policies it was given, never that there are no findings."""
        return InternalError(
            f"the {self.name} engine gave no value for {path}, a set that is defined (empty "
            "when nothing is found) once its policy is loaded: no verdict"
        )

    def judge_in_slices(self, paths: frozenset[str]) -> None:
        """These rules judge each deployment alone (``per_deployment``): an engine that holds
        every finding of a rule at once may evaluate them over slices of the deployments."""
        return None

    def prefetch(self, paths: list[str]) -> None:
        """Evaluate these rules ahead, where one request for all is cheaper than one each."""
        return None

    def version(self) -> str:
        """The engine's name and version, for the report."""
        return self.name

    def location(self) -> str | None:
        """Where evaluation happens when it is not in this process (a server's URL)."""
        return None

    def close(self) -> None:
        """Release what the engine holds (a connection); it is not used afterwards."""
        return None

    def enable_coverage(self) -> bool:
        """Start recording which policy lines evaluation reaches; False if unsupported."""
        return False

    def covered_lines(self) -> dict[str, set[int]]:
        """Lines reached so far, by module name (empty unless coverage is enabled)."""
        return {}


def packages_overlap(package: tuple[str, ...], other: tuple[str, ...]) -> bool:
    """Whether an engine merges the two packages' documents: one is the other or lies under it
    (a module of ``package acme`` defines ``tickets.ok(_) if true`` in ``acme.tickets``)."""
    shorter = min(len(package), len(other))
    return package[:shorter] == other[:shorter]


def answer_value(answer: Mapping[str, Any]) -> Any:
    """The value of a query's answer (``evaluate_json``'s, parsed); UNDEFINED without one."""
    results = answer.get("result") or []
    if not results:
        return UNDEFINED
    return results[0]["expressions"][0]["value"]


def policy_error(raw: str, *, context: str) -> PolicyError:
    """Turn an engine's error text into one line: where, and what."""
    text = raw.split("\nStack backtrace:")[0].strip()
    where = _LOCATION.search(text)
    what = _ERROR_LINE.search(text)
    detail = what.group("text").strip() if what else (text.splitlines() or ["unknown error"])[0]
    if where:
        return PolicyError(f"{where.group('where')}: {detail} ({context})")
    return PolicyError(f"{detail} ({context})")
