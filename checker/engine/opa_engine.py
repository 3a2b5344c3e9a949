"""The remote engine: the same policies and documents, evaluated on an OPA server.

Through opa-python-client, over OPA's REST API:

- each policy module is uploaded with ``PUT /v1/policies/knightwatch/<file>`` (v0 rewriting
  off: the modules are Rego v1 as written), and modules knightwatch uploaded before that are
  no longer in the set are deleted, so the server holds exactly the policies of this run;
  then ``GET /v1/policies`` must show them as uploaded, and no other module in a package
  equal to, above or under one of theirs or ``knightwatch`` (read from OPA's AST): OPA would
  merge it into them (a ``PolicyError``, exit 2);
- the data document is written with ``PUT /v1/data/<path>``, one second-level document at a
  time (``knightwatch/params``, ``knightwatch/rules``);
- the input is sent once per batch of rules, in one ``POST /v1/query`` that evaluates every
  rule the run needs, each wrapped so an undefined rule cannot hide the others (and an
  undefined finding rule, which a set never is once its module is loaded, stops the run:
  ``no_value``).

Failures never pass: an unreachable server, a timeout or a TLS failure is an
``EngineUnavailable`` (exit 3); a policy OPA rejects or cannot evaluate is a ``PolicyError``
naming the file and line OPA gave (exit 2); a refused token is a ``UsageError`` (exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

import requests
from opa_client import OpaClient
from opa_client.errors import RegoParseError

from checker.engine.base import UNDEFINED, Engine, PolicyModule, packages_overlap
from checker.errors import EngineUnavailable, KnightwatchError, PolicyError, UsageError
from checker.vocabulary import OPA_TIMEOUT_SECONDS, OPA_TOKEN_ENV

POLICY_PREFIX = "knightwatch/"
RESERVED = ("knightwatch",)
"""The shipped policies' package root: no module but this run's may declare it or one under it."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._/-]")
_RULE_PATH = re.compile(r"^data(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_TOKEN = re.compile(r"[\x21-\x7e]+")
"""Printable ASCII without spaces: what an HTTP header value can carry as a bearer token."""

T = TypeVar("T")


def policy_id(module: PolicyModule) -> str:
    """The id a module is uploaded under: ``knightwatch/`` and its file name."""
    parts = [
        part if part not in (".", "..") else "_" * len(part) for part in module.name.split("/")
    ]
    return POLICY_PREFIX + _UNSAFE.sub("_", "/".join(p for p in parts if p))


def _server_url(url: str, token_env: str) -> SplitResult:
    """The server's root URL, checked: http or https, a host, no credentials, no path."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise UsageError(
            "--opa-url carries credentials (user:password@); they are not shown here and "
            "never sent",
            hint=f"put a bearer token in ${token_env} instead",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--opa-url {url!r} is not an http:// or https:// URL",
            hint="for example --opa-url https://opa.internal:8181",
        )
    if parts.path.strip("/") or parts.query:
        shown = f"{parts.scheme}://{parts.netloc}{parts.path}"  # a query may hold a secret
        raise UsageError(
            f"--opa-url {shown!r} has a path or a query; give the server's root (OPA "
            "serves /v1/ there)"
        )
    return parts


def _check_ca(ca_file: Path | None, secure: bool) -> None:
    if ca_file is not None and not secure:
        raise UsageError("--opa-ca goes with an https:// --opa-url")
    if ca_file is not None and not ca_file.is_file():
        raise UsageError(f"CA bundle not found: {ca_file}")


class OpaServerEngine(Engine):
    """Evaluates on an OPA server; see the module's description for what is sent."""

    name = "opa"

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = OPA_TIMEOUT_SECONDS,
        ca_file: Path | None = None,
        retries: int = 2,
        token_env: str = OPA_TOKEN_ENV,
    ) -> None:
        parts = _server_url(url, token_env)
        if token is not None and not _TOKEN.fullmatch(token):
            raise UsageError(
                f"${token_env} does not hold a bearer token: it has spaces, line breaks or other "
                "characters a token cannot have (its value is not shown)",
                hint="a signing key or other secret never belongs in the token variable",
            )
        secure = parts.scheme == "https"
        _check_ca(ca_file, secure)
        hostname = parts.hostname or ""  # _server_url refused a URL without one
        host = f"[{hostname}]" if ":" in hostname else hostname
        self.url = f"{parts.scheme}://{host}:{parts.port or (443 if secure else 80)}"
        self._timeout = timeout
        self._token_env = token_env
        self._token = token
        # ssl=True verifies against the system's CAs, a path against that bundle; plain http
        # has nothing to verify. opa-python-client puts the token in an Authorization header.
        self._client = OpaClient(
            host=host,
            port=parts.port or (443 if secure else 80),
            ssl=(str(ca_file) if ca_file else True) if secure else False,
            token=token,
            timeout=timeout,
            retries=retries,
        )
        if ca_file is not None:
            _always_verify_with(self._client, str(ca_file))
        self._names: dict[str, str] = {}
        self._input: Mapping[str, Any] = {}
        self._values: dict[str, Any] = {}

    # -- the Engine interface ------------------------------------------------------------

    def load(self, modules: list[PolicyModule]) -> None:
        """Delete the modules of ours the server holds that this run does not, then upload
        every module of this run."""
        wanted = {policy_id(m): m for m in modules}
        self._names = {pid: m.name for pid, m in wanted.items()}
        existing = [str(entry["id"]) for entry in self._listing()]
        for stale in sorted(p for p in existing if p.startswith(POLICY_PREFIX)):
            if stale not in wanted:
                self._call(f"deleting {stale}", self._client.delete_policy, stale)
        # OPA compiles each upload against the modules it already has: a module calling a
        # function of one not uploaded yet fails on the first pass and succeeds on a later.
        pending = sorted(wanted)
        while pending:
            failed: list[tuple[str, RegoParseError]] = []
            for pid in pending:
                try:
                    self._call(
                        f"uploading {wanted[pid].name}",
                        self._client.update_policy_from_string,
                        wanted[pid].source,
                        pid,
                        rego_compat=False,
                    )
                except RegoParseError as exc:
                    failed.append((pid, exc))
            if len(failed) == len(pending):
                raise self._hidden(self._rejected(*failed[0]))
            pending = [pid for pid, _ in failed]
        self._check_server(wanted)

    def _listing(self) -> list[dict[str, Any]]:
        """``GET /v1/policies``: every module on the server, with its id, its text (``raw``)
        and OPA's parse of it (``ast``)."""

        def listing() -> Any:
            response = self._client._session.get(  # the client's listing keeps only the ids
                f"{self._client.root_url}/policies/", timeout=self._timeout
            )
            response.raise_for_status()
            return response.json()

        answer = self._call("listing policies", listing)
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, list) or not all(
            isinstance(entry, dict) and isinstance(entry.get("id"), str) for entry in result
        ):
            shown = self._hide(repr(answer))[:200]
            raise EngineUnavailable(f"OPA at {self.url} listed its policies as {shown}")
        return result

    def _check_server(self, wanted: dict[str, PolicyModule]) -> None:
        """After the uploads, before any evaluation: the server holds this run's modules as
        uploaded, and no other module in a package that OPA would merge into theirs. A module
        of someone else's (``package knightwatch.review``, ``independently_approved(_) if
        true``) would add bodies to a shipped rule's helper and waive it on the server alone;
        deleting it is not ours to do, evaluating beside it is not a verdict."""
        listed = {str(entry["id"]): entry for entry in self._listing()}
        for pid, module in sorted(wanted.items()):
            if listed.get(pid, {}).get("raw") != module.source:
                raise EngineUnavailable(
                    f"OPA at {self.url} does not hold {module.name} as this run uploaded it "
                    f"(module {pid}): no verdict",
                    hint="is another run with other policies using the server, or is --opa-url "
                    "a proxy or load balancer rather than one OPA server?",
                )
        ours = {self._package(pid, listed[pid]) for pid in wanted}
        reserved = {RESERVED, *ours}
        for pid, entry in sorted(listed.items()):
            if pid in wanted:
                continue
            package = self._package(pid, entry)
            clashes = [r for r in reserved if packages_overlap(package, r)]
            if clashes:
                clash = max(clashes, key=lambda r: (len(r), r))  # the nearest: review, not root
                raise PolicyError(
                    f"OPA at {self.url} holds module {pid}, which this run did not upload, in "
                    f"package {'.'.join(package)}: OPA would merge its rules into this run's "
                    f"package {'.'.join(clash)} and could change their findings",
                    hint=f"have {pid} removed from the server or moved to a package of its own "
                    "(packages under knightwatch are reserved), or evaluate on another server",
                )

    def _package(self, pid: str, entry: Mapping[str, Any]) -> tuple[str, ...]:
        """The module's package as OPA parsed it (``ast.package.path``: ``data`` and then
        strings), without the leading ``data``."""
        ast = entry.get("ast")
        package = ast.get("package") if isinstance(ast, dict) else None
        path = package.get("path") if isinstance(package, dict) else None
        terms = path if isinstance(path, list) else []
        parts = [t.get("value") if isinstance(t, dict) else None for t in terms]
        if len(parts) < 2 or parts[0] != "data" or not all(isinstance(p, str) for p in parts):
            raise EngineUnavailable(
                f"OPA at {self.url} listed module {pid} without a package this run can read "
                "(ast.package.path): whether it joins this run's packages cannot be told"
            )
        return tuple(str(p) for p in parts[1:])

    def set_data(self, data: dict[str, Any]) -> None:
        """Write each second-level document (``knightwatch/params``, ...) under its own path, so
        the write never overlaps a policy package."""
        for top, documents in sorted(data.items()):
            for key, value in sorted(documents.items()):
                path = f"{top}/{key}"
                try:
                    self._call(
                        f"writing data/{path}", self._client.update_or_create_data, value, path
                    )
                except RegoParseError as exc:
                    raise self._hidden(self._refused(f"writing data/{path}", exc)) from None

    def set_input(self, document: Mapping[str, Any]) -> None:
        """Keep the input for the next query; answers for the previous input are dropped."""
        self._input = document
        self._values = {}

    def prefetch(self, paths: list[str]) -> None:
        """Evaluate every rule in one query, sending the input once."""
        wanted = [p for p in dict.fromkeys(paths) if p not in self._values]
        if not wanted:
            return
        for path in wanted:
            if not _RULE_PATH.match(path):
                raise PolicyError(f"cannot query rule path {path!r} on OPA")
        # [x | x := data.p.r] is [] for an undefined rule and [value] otherwise: one query
        # answers for all of them, and an undefined rule does not make the rest undefined.
        query = "; ".join(f"r{i} := [x | x := {path}]" for i, path in enumerate(wanted))
        answer = self._call(
            f"evaluating {len(wanted)} rules", self._client.ad_hoc_query, query, self._input
        )
        results = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != 1 or not isinstance(results[0], dict):
            shown = self._hide(repr(answer))[:200]
            raise EngineUnavailable(f"OPA at {self.url} answered the query with {shown}")
        for index, path in enumerate(wanted):
            values = results[0].get(f"r{index}")
            if not isinstance(values, list) or len(values) > 1:
                raise EngineUnavailable(f"OPA at {self.url} gave no value for {path}")
            self._values[path] = values[0] if values else UNDEFINED

    def evaluate(self, path: str) -> Any:
        """One rule's value, from the batch evaluated for this input; handed over to the
        caller, which may consume it (asked again, the rule is queried again)."""
        if path not in self._values:
            self.prefetch([path])
        return self._values.pop(path)

    def no_value(self, path: str) -> KnightwatchError:
        """A finding rule undefined on the server: the query was not evaluated on the policies
        this run uploaded (a replica behind a load balancer that never received them, a proxy
        answering from elsewhere), so there is no verdict, not zero findings."""
        return EngineUnavailable(
            f"OPA at {self.url} gave no value for {path}, a set that is defined (empty when "
            "nothing is found) once its policy is loaded: the server did not evaluate the "
            "policies this run uploaded",
            hint="is --opa-url one OPA server, not a load balancer over several or a proxy?",
        )

    def location(self) -> str | None:
        """The server's URL: a report must say where its verdict was computed, not only what
        version string the server claims."""
        return self.url

    def version(self) -> str:
        """``opa X.Y.Z`` as the server reports it, or ``opa`` if it does not say."""
        try:
            answer = self._client.ad_hoc_query("v := opa.runtime().version")
            version = answer["result"][0]["v"]
        except (requests.RequestException, KeyError, IndexError, TypeError, ValueError):
            return "opa"
        return f"opa {version}" if isinstance(version, str) and version else "opa"

    def close(self) -> None:
        """Release the HTTP session."""
        self._client.close_connection()

    # -- errors --------------------------------------------------------------------------

    def _call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the client; every failure becomes a clear error naming the server, and the
        token never appears in it (a server or a proxy may echo the request's headers)."""
        try:
            return self._call_server(what, function, *args, **kwargs)
        except KnightwatchError as exc:
            raise self._hidden(exc) from None

    def _hide(self, text: str) -> str:
        """``text`` with the token, wherever it appears, replaced by a placeholder."""
        return text.replace(self._token, "[token not shown]") if self._token else text

    def _hidden(self, exc: KnightwatchError) -> KnightwatchError:
        """The error with the token hidden in its message and hint."""
        if not self._token or self._token not in exc.message + (exc.hint or ""):
            return exc
        return type(exc)(self._hide(exc.message), hint=self._hide(exc.hint) if exc.hint else None)

    def _call_server(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise EngineUnavailable(
                f"TLS with OPA at {self.url} failed while {what}: {_reason(exc)}",
                hint="pass --opa-ca FILE with the CA that signed the server's certificate",
            ) from None
        except requests.exceptions.Timeout:
            raise self._timed_out(what) from None
        except requests.exceptions.ConnectionError as exc:
            if "timed out" in str(exc):  # a read timeout, after urllib3's retries
                raise self._timed_out(what) from None
            raise EngineUnavailable(
                f"cannot reach OPA at {self.url} while {what}: {_reason(exc)}",
                hint="is the server running, and is --opa-url its address?",
            ) from None
        except requests.exceptions.HTTPError as exc:
            raise self._http_error(what, exc.response) from None
        except requests.exceptions.RequestException as exc:
            raise EngineUnavailable(f"OPA at {self.url} failed while {what}: {exc}") from None
        except ValueError as exc:  # a body that is not JSON: not OPA, or a proxy's error page
            raise EngineUnavailable(
                f"OPA at {self.url} answered with something that is not JSON while {what} ({exc})",
                hint="is --opa-url the OPA server itself?",
            ) from None
        except (KeyError, TypeError, AttributeError) as exc:
            raise EngineUnavailable(
                f"OPA at {self.url} answered in an unexpected shape while {what} ({exc!r})"
            ) from None
        except RegoParseError as exc:
            if exc.expression in ("unauthorized", "forbidden"):
                raise self._refused(what, exc) from None
            raise

    def _timed_out(self, what: str) -> EngineUnavailable:
        return EngineUnavailable(
            f"OPA at {self.url} did not answer within {self._timeout:g} s while {what}",
            hint="raise --opa-timeout, or check the server's load",
        )

    def _unauthorized(self, what: str, text: str, status: int | None = None) -> UsageError:
        code = f" ({status})" if status else ""
        return UsageError(
            f"OPA at {self.url} refused the request{code} while {what}: {text}",
            hint=f"set {self._token_env} to a token the server accepts",
        )

    def _http_error(self, what: str, response: requests.Response | None) -> KnightwatchError:
        status = response.status_code if response is not None else 0
        try:
            body = response.json() if response is not None else {}
        except ValueError:
            body = {}
        message = body.get("message") if isinstance(body, dict) else None
        text = message or (
            self._hide(response.text)[:200] if response is not None else "no response"
        )
        if status in (401, 403):
            return self._unauthorized(what, text, status)
        if status == 500 and isinstance(body, dict) and body.get("code"):
            errors = body.get("errors") or []
            detail = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
            return PolicyError(f"OPA could not evaluate the policies: {text} {detail}".strip())
        return EngineUnavailable(
            f"OPA at {self.url} answered {status} while {what}: {text}",
            hint="the server may be overloaded or behind a proxy that failed",
        )

    def _refused(self, what: str, exc: RegoParseError) -> KnightwatchError:
        if exc.expression in ("unauthorized", "forbidden"):
            return self._unauthorized(what, exc.message)
        return EngineUnavailable(f"OPA at {self.url} refused {what}: {exc.message}")

    def _rejected(self, pid: str, exc: RegoParseError) -> KnightwatchError:
        """OPA's own words for a module it would not compile, at the file and line it gave.
        (A refused token never gets here: ``_call`` has turned it into a usage error.)"""
        for error in exc.errors:
            if not isinstance(error, dict):
                continue
            location = error.get("location") or {}
            where = self._names.get(str(location.get("file", "")), self._names.get(pid, pid))
            row = location.get("row")
            place = f"{where}:{row}" if row else where
            return PolicyError(
                f"{place}: {error.get('message', exc.message)} "
                f"(OPA rejected the module: {error.get('code', exc.expression)})"
            )
        return PolicyError(f"{self._names.get(pid, pid)}: OPA rejected the module: {exc.message}")


def _always_verify_with(client: OpaClient, bundle: str) -> None:
    """Verify with ``bundle`` even where REQUESTS_CA_BUNDLE is set: requests lets that variable
    override a session's own ``verify``, and a CA given on the command line must win."""
    session: requests.Session = client._session  # the client exposes no per-request verify
    merge = session.merge_environment_settings

    def merged(*args: Any, **kwargs: Any) -> dict[str, Any]:
        settings: dict[str, Any] = merge(*args, **kwargs)
        settings["verify"] = bundle
        return settings

    session.merge_environment_settings = merged  # type: ignore[method-assign]


def _reason(exc: Exception) -> str:
    """The innermost reason of a requests/urllib3 error, without the retry wrapping."""
    text = str(exc)
    for pattern in (r"\(Caused by \w+\((?:<[^>]*>: )?'?(.*?)'?\)\)$", r"Caused by (.*)$"):
        match = re.search(pattern, text)
        if match:
            return match.group(1).strip("'\" ")
    return text
