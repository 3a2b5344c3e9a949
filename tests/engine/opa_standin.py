"""A STAND-IN for an OPA server, for tests: no OPA binary can be installed here.

It speaks the part of OPA's REST API that knightwatch uses, on 127.0.0.1, with OPA's status
codes and error bodies:

- ``GET /v1/policies`` (each module's ``id``, ``raw`` and, of OPA's ``ast``, the package's
  ``path``: ``data`` and then strings, as regorus parses it), ``PUT /v1/policies/{id}`` (400
  with OPA's compile-error body), ``DELETE /v1/policies/{id}``;
- ``PUT /v1/data/{path}``;
- ``POST /v1/query`` (``{"result": [bindings]}``, 500 with an error body when evaluation fails);
- bearer-token authentication (401 ``unauthorized``), a delay to provoke timeouts, and TLS;
- a test's rewriting of answers (``rewrite``, ``rewrite_listing``), for servers that answer
  otherwise.

Evaluation is real: by OPA's own Go engine (``opa_bindings``, from the opa-golib-python-bindings
wheel that ``make test`` unpacks, named by ``KNIGHTWATCH_OPA_BINDINGS``) when it is there, else
by regorus. Only the HTTP server around it is a stand-in.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BINDINGS_ENV = "KNIGHTWATCH_OPA_BINDINGS"
_ERROR = re.compile(
    r"(?P<file>[^\s:]+):(?P<row>\d+)(?::\d+)?:\s*(?:error:\s*)?(?:(?P<code>rego_\w+):\s*)?"
    r"(?P<message>[^\n]*)"
)


class EvalError(Exception):
    """The engine behind the stand-in refused a module or a query."""


def opa_bindings() -> Any | None:
    """OPA's Go engine through its Python bindings, if ``make test`` unpacked them."""
    where = os.environ.get(BINDINGS_ENV)
    if not where or not Path(where, "opa_bindings").is_dir():
        return None
    if where not in sys.path:
        sys.path.insert(0, where)
    try:
        import opa_bindings as module  # type: ignore[import-not-found]
    except (ImportError, OSError):
        return None
    return module


class Backend:
    """Evaluates modules, data and a query the way the server would."""

    name = "backend"

    def check(self, modules: dict[str, str]) -> None:
        raise NotImplementedError

    def query(
        self, modules: dict[str, str], data: dict[str, Any], query: str, document: Any
    ) -> list[dict[str, Any]]:
        raise NotImplementedError


class GoOpaBackend(Backend):
    """OPA v1's Go evaluator, in process."""

    name = "opa (Go engine)"

    def __init__(self, module: Any) -> None:
        self._module = module

    def _engine(self, modules: dict[str, str], data: dict[str, Any]) -> Any:
        engine = self._module.OpaEngine()
        try:
            for pid, source in sorted(modules.items()):
                engine.add_policy(pid, source)
            if data:
                engine.add_data(data)
        except self._module.OpaError as exc:
            engine.close()
            raise EvalError(exc.message) from None
        return engine

    def check(self, modules: dict[str, str]) -> None:
        engine = self._engine(modules, {})
        try:
            engine.eval_query("x := 1")  # compiles every module
        except self._module.OpaError as exc:
            raise EvalError(exc.message) from None
        finally:
            engine.close()

    def query(
        self, modules: dict[str, str], data: dict[str, Any], query: str, document: Any
    ) -> list[dict[str, Any]]:
        engine = self._engine(modules, data)
        try:
            return list(engine.eval_query(query, input=document))
        except self._module.OpaError as exc:
            raise EvalError(exc.message) from None
        finally:
            engine.close()


class RegorusBackend(Backend):
    """regorus, where OPA's Go engine is not available."""

    name = "regorus"

    def _engine(self, modules: dict[str, str], data: dict[str, Any]) -> Any:
        import regorus

        engine = regorus.Engine()
        try:
            for pid, source in sorted(modules.items()):
                engine.add_policy(pid, source)
        except Exception as exc:
            raise EvalError(str(exc)) from None
        engine.add_data_json(json.dumps(data))
        return engine

    def check(self, modules: dict[str, str]) -> None:
        self._engine(modules, {})

    def query(
        self, modules: dict[str, str], data: dict[str, Any], query: str, document: Any
    ) -> list[dict[str, Any]]:
        engine = self._engine(modules, data)
        if document is not None:
            engine.set_input_json(json.dumps(document))
        try:
            answer = json.loads(engine.eval_query_as_json(query))
        except Exception as exc:
            raise EvalError(str(exc)) from None
        return [r.get("bindings", {}) for r in answer.get("result", [])]


def default_backend() -> Backend:
    module = opa_bindings()
    return GoOpaBackend(module) if module is not None else RegorusBackend()


@dataclass
class StandIn:
    """The stand-in's state, open to the test."""

    backend: Backend
    token: str | None = None
    delay: float = 0.0
    policies: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    rewrite: Callable[[dict[str, Any]], Any] | None = None
    """Rewrites each query's answer (``{"result": [bindings]}``) before it is sent: a server,
    or a proxy in front of one, that answers otherwise than OPA would."""
    rewrite_listing: Callable[[dict[str, Any]], Any] | None = None
    """The same for the answer to ``GET /v1/policies``."""


def _ref_path(ref: dict[str, Any]) -> list[str]:
    """The parts of a package reference in regorus's AST (``a.b["c.d"]``: a, b, c.d)."""
    if "Var" in ref:
        return [ref["Var"]["value"]]
    if "RefDot" in ref:
        return [*_ref_path(ref["RefDot"]["refr"]), ref["RefDot"]["field"][1]]
    if "RefBrack" in ref:
        return [*_ref_path(ref["RefBrack"]["refr"]), ref["RefBrack"]["index"]["String"]["value"]]
    raise ValueError(ref)


def _ast(source: str) -> dict[str, Any]:
    """Of OPA's AST of a module, what ``GET /v1/policies`` lists of its package; nothing for a
    module regorus cannot parse."""
    import regorus

    engine = regorus.Engine()
    try:
        engine.add_policy("module.rego", source)
        parsed = json.loads(engine.get_ast_as_json())[0]["ast"]["package"]["refr"]
        parts = _ref_path(parsed)
    except Exception:
        return {}
    path = [{"type": "var", "value": "data"}] + [{"type": "string", "value": p} for p in parts]
    return {"package": {"path": path}}


def _error_body(code: str, text: str, pid: str | None = None) -> dict[str, Any]:
    errors = []
    for match in _ERROR.finditer(text):
        errors.append(
            {
                "code": match.group("code") or code,
                "message": match.group("message").strip(),
                "location": {"file": pid or match.group("file"), "row": int(match.group("row"))},
            }
        )
    message = "error(s) occurred while compiling module(s)" if pid else text.splitlines()[0]
    return {"code": code, "message": message, "errors": errors}


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: Any | None) -> None:
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _admitted(self) -> bool:
            state.requests.append((self.command, self.path))
            if state.delay:
                time.sleep(state.delay)
            if state.token and self.headers.get("Authorization") != f"Bearer {state.token}":
                self._body()
                self._reply(401, {"code": "unauthorized", "message": "missing or invalid token"})
                return False
            return True

        def do_GET(self) -> None:
            if not self._admitted():
                return
            if self.path.rstrip("/") == "/v1/policies":
                with state.lock:
                    policies = sorted(state.policies.items())
                listing = {"result": [{"id": p, "raw": s, "ast": _ast(s)} for p, s in policies]}
                rewrite = state.rewrite_listing
                self._reply(200, rewrite(listing) if rewrite else listing)
            else:
                self._reply(404, {"code": "resource_not_found", "message": self.path})

        def do_PUT(self) -> None:
            if not self._admitted():
                return
            body = self._body()
            if self.path.startswith("/v1/policies/"):
                pid = self.path.removeprefix("/v1/policies/")
                with state.lock:
                    trial = {**state.policies, pid: body.decode()}
                    try:
                        state.backend.check(trial)
                    except EvalError as exc:
                        self._reply(400, _error_body("invalid_parameter", str(exc), pid))
                        return
                    state.policies = trial
                self._reply(200, {})
            elif self.path.startswith("/v1/data/"):
                keys = self.path.removeprefix("/v1/data/").split("/")
                with state.lock:
                    node = state.data
                    for key in keys[:-1]:
                        node = node.setdefault(key, {})
                    node[keys[-1]] = json.loads(body)
                self._reply(204, None)
            else:
                self._reply(404, {"code": "resource_not_found", "message": self.path})

        def do_DELETE(self) -> None:
            if not self._admitted():
                return
            pid = self.path.removeprefix("/v1/policies/")
            with state.lock:
                if pid not in state.policies:
                    self._reply(404, {"code": "resource_not_found", "message": pid})
                    return
                del state.policies[pid]
            self._reply(200, {})

        def do_POST(self) -> None:
            if not self._admitted():
                return
            request = json.loads(self._body() or b"{}")
            if self.path.split("?")[0] != "/v1/query":
                self._reply(404, {"code": "resource_not_found", "message": self.path})
                return
            with state.lock:
                modules, data = dict(state.policies), json.loads(json.dumps(state.data))
            try:
                result = state.backend.query(modules, data, request["query"], request.get("input"))
            except EvalError as exc:
                self._reply(500, _error_body("internal_error", str(exc)))
                return
            answer = {"result": result}
            self._reply(200, state.rewrite(answer) if state.rewrite else answer)

    return Handler


@contextmanager
def running(
    *,
    token: str | None = None,
    delay: float = 0.0,
    tls: tuple[Path, Path] | None = None,
    backend: Backend | None = None,
) -> Iterator[StandIn]:
    """A stand-in server on 127.0.0.1 (a free port) for the duration of the block.

    ``tls`` is (certificate, key) in PEM: the server then speaks https.
    """
    state = StandIn(backend=backend or default_backend(), token=token, delay=delay)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
