"""API Gateway (REST, Lambda proxy) emulation: routes from template.yaml, the REQUEST
authorizer, gateway responses and size limits, then the real handler with a real event.

Size limits are where AWS has them, so a request refused on AWS is refused here the same
way: API Gateway's front door takes at most 10,485,760 bytes of body (413, a plain-text
answer no gateway response shapes) and 10,240 characters of URL (a regional API); the Lambda
proxy event, the whole JSON document with the body in it, must fit Lambda's synchronous
invoke payload (6,291,456 bytes), else API Gateway answers its REQUEST_TOO_LARGE gateway
response (413), which the template shapes. The body alone is therefore never the limit: a
JSON body of ~5.9 MB fits, a base64 file of ~4.4 MB inside it is the real inline limit.

The authorizer's answer (a policy) is cached per token for the template's
``ReauthorizeEvery``, as API Gateway caches it, so a disabled user's or a rotated-out token
passes locally as long as it would on AWS. ``ECM_AUTHORIZER_TTL_SECONDS`` shortens (or, 0,
turns off) the cache for tests. A refusal (401) is not cached here, as an error is not."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import time
import uuid
from http import HTTPStatus
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devstack.lambdas import Handler, LambdaContext
from devstack.template import ACCOUNT, REGION, Function, LocalTemplate

API_ID = "localapi"
STAGE = "local"
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
#: The answer of API Gateway's front door to a larger body: before routing, authorizer and
#: gateway responses, so it is neither JSON nor shaped by the template.
BODY_OVER_API_GATEWAY_LIMIT = f"HTTP content length exceeded {API_GATEWAY_MAX_BODY} bytes."
#: Lambda's synchronous invoke payload: the whole proxy event as JSON, not the body alone.
LAMBDA_MAX_PAYLOAD = 6 * 1024 * 1024
#: A regional REST API's URL, in characters (path and query string).
API_GATEWAY_MAX_URL = 10_240
URL_TOO_LONG = (
    f"The URL is longer than {API_GATEWAY_MAX_URL:,} characters, API Gateway's limit; "
    "narrow the request (a shorter search)"
)
#: Overrides the template's authorizer cache TTL for the local stack (seconds; 0 = none).
TTL_VARIABLE = "ECM_AUTHORIZER_TTL_SECONDS"


class PolicyCache:
    """The authorizer's policies by token (kept as a hash), each for ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._policies: dict[str, tuple[float, dict[str, Any]]] = {}

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            cached = self._policies.get(self._key(token))
            if cached is None or cached[0] <= time.monotonic():
                return None
            return cached[1]

    def put(self, token: str, policy: dict[str, Any]) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            now = time.monotonic()
            expired = [k for k, (until, _) in self._policies.items() if until <= now]
            for key in expired:
                del self._policies[key]
            self._policies[self._key(token)] = (now + self.ttl, policy)


def authorizer_ttl(template: LocalTemplate) -> float:
    raw = os.environ.get(TTL_VARIABLE, "").strip()
    return float(raw) if raw else float(template.authorizer_ttl())


class Route:
    def __init__(self, method: str, path: str, function: str, auth: bool) -> None:
        self.method, self.path, self.function, self.auth = method, path, function, auth
        pattern = re.sub(r"\{(\w+)\+?\}", r"(?P<\1>[^/]+)", path)
        self.regex = re.compile(f"^{pattern}$")


def _specificity(path: str) -> tuple[int, ...]:
    """Literal segments first, segment by segment (API Gateway's resource precedence)."""
    return tuple(0 if segment.startswith("{") else 1 for segment in path.split("/"))


def _json(status: int, body: Any) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    return Response(text, status=status, content_type="application/json")


def url_too_long() -> Response:
    """A URL over API Gateway's limit: refused before routing, as on AWS, whose gateway
    responses have no type for it; said in the API's error shape, never an HTML page."""
    return _json(414, {"errors": [URL_TOO_LONG]})


class _RequestHandler(WSGIRequestHandler):
    """The server's own refusal of a request line over 64 KiB (an HTML 414 page otherwise):
    the same JSON answer the gateway gives any URL over API Gateway's limit."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code != HTTPStatus.REQUEST_URI_TOO_LONG:
            super().send_error(code, message, explain)
            return
        if len(self.raw_requestline) > 65536:  # the rest of the line is still unread
            while (chunk := self.rfile.readline(65537)) and not chunk.endswith(b"\n"):
                pass
        body = url_too_long().get_data()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class Gateway:
    def __init__(
        self, template: LocalTemplate, functions: dict[str, Function], handlers: dict[str, Handler]
    ) -> None:
        self.template, self.handlers = template, handlers
        self.routes = [
            Route(method, path, logical, auth)
            for logical, function in functions.items()
            for method, path, auth in function.routes
        ]
        self.authorizer = "AuthorizerFunction"
        self.policies = PolicyCache(authorizer_ttl(template))

    def gateway_response(self, name: str, fallback: tuple[int, str]) -> Response:
        status, body = self.template.gateway_response(name) or fallback
        response = _json(status, body)
        for key, value in self.template.gateway_headers(name).items():
            response.headers[key] = value
        return response

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        raw_url = request.environ.get("RAW_URI") or request.full_path
        if len(raw_url) > API_GATEWAY_MAX_URL:
            return url_too_long()
        if (request.content_length or 0) > API_GATEWAY_MAX_BODY:
            return Response(BODY_OVER_API_GATEWAY_LIMIT, status=413, content_type="text/plain")
        path = request.path.rstrip("/") or "/"
        matches = [(r, m) for r in self.routes if (m := r.regex.match(path))]
        if not matches:
            return self.gateway_response(
                "MISSING_AUTHENTICATION_TOKEN", (404, '{"errors": ["Not found"]}')
            )
        # As API Gateway: the most specific resource serves the path (a literal segment
        # beats a {parameter}: /mifs/uploads is not /mifs/{id}), whatever the method.
        resource = max(matches, key=lambda rm: _specificity(rm[0].path))[0].path
        on_resource = [(r, m) for r, m in matches if r.path == resource]
        allowed = [(r, m) for r, m in on_resource if r.method == request.method]
        if not allowed:
            methods = ", ".join(sorted({r.method for r, _ in on_resource}))
            refused = _json(405, {"errors": [f"Method {request.method} not allowed"]})
            refused.headers["Allow"] = methods
            return refused
        route, match = allowed[0]
        body_bytes = request.get_data()
        if len(body_bytes) > API_GATEWAY_MAX_BODY:  # a chunked body has no Content-Length
            return Response(BODY_OVER_API_GATEWAY_LIMIT, status=413, content_type="text/plain")
        headers = dict(request.headers.items())
        method_arn = (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/{route.method}{route.path}"
        )
        authorizer_context: dict[str, Any] = {}
        if route.auth:
            token = request.headers.get("X-User-Token")
            unauthorized = self.gateway_response(
                "UNAUTHORIZED", (401, '{"message":"Unauthorized"}')
            )
            if not token:
                return unauthorized
            policy = self.policies.get(token) or self._authorize(
                token, method_arn, route, path, request, headers, match
            )
            if policy is None:
                return unauthorized  # the authorizer's "Unauthorized"
            if not policy:
                # Any other error of the authorizer is API Gateway's AUTHORIZER_FAILURE.
                return self.gateway_response(
                    "AUTHORIZER_FAILURE", (500, '{"message":"Internal server error"}')
                )
            statements = policy.get("policyDocument", {}).get("Statement", [])
            if not any(s.get("Effect") == "Allow" for s in statements):
                return self.gateway_response("ACCESS_DENIED", (403, '{"message":"Forbidden"}'))
            authorizer_context = {
                **{k: str(v) for k, v in (policy.get("context") or {}).items()},
                "principalId": policy.get("principalId"),
            }
        return self._call(route, match, request, path, headers, body_bytes, authorizer_context)

    def _authorize(
        self,
        token: str,
        method_arn: str,
        route: Route,
        path: str,
        request: Request,
        headers: dict[str, str],
        match: re.Match[str],
    ) -> dict[str, Any] | None:
        """The authorizer's policy (cached for the token); None when it refused the token,
        an empty dict when it failed."""
        handler = self.handlers[self.authorizer]
        try:
            policy: dict[str, Any] = handler(
                {
                    "type": "REQUEST",
                    "methodArn": method_arn,
                    "resource": route.path,
                    "path": path,
                    "httpMethod": request.method,
                    "headers": headers,
                    "queryStringParameters": dict(request.args) or None,
                    "pathParameters": match.groupdict() or None,
                    "requestContext": {"stage": STAGE, "apiId": API_ID},
                },
                LambdaContext(self.authorizer, 10),
            )
        except PermissionError:
            return None
        except Exception:
            return {}
        self.policies.put(token, policy)
        return policy

    def _call(
        self,
        route: Route,
        match: re.Match[str],
        request: Request,
        path: str,
        headers: dict[str, str],
        body_bytes: bytes,
        authorizer_context: dict[str, Any],
    ) -> Response:
        """The route's handler with API Gateway's proxy event; its answer as a response."""
        try:
            text_body: str | None = body_bytes.decode("utf-8") if body_bytes else None
            is_b64 = False
        except UnicodeDecodeError:
            text_body, is_b64 = base64.b64encode(body_bytes).decode(), True
        query = dict(request.args.items())
        event = {
            "resource": route.path,
            "path": path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": {k: request.headers.getlist(k) for k in headers},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": {k: request.args.getlist(k) for k in query} or None,
            "pathParameters": match.groupdict() or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": request.method,
                # The URL has no stage prefix here, as behind a custom domain: the path a
                # page's links are relative to (the console's <base href>) is the path itself.
                "path": path,
                "stage": STAGE,
                "apiId": API_ID,
                "accountId": ACCOUNT,
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": request.remote_addr or "127.0.0.1"},
                "authorizer": authorizer_context or None,
            },
            "body": text_body,
            "isBase64Encoded": is_b64,
        }
        if len(json.dumps(event).encode()) > LAMBDA_MAX_PAYLOAD:
            # Lambda refuses the invoke; API Gateway answers its REQUEST_TOO_LARGE response.
            return self.gateway_response(
                "REQUEST_TOO_LARGE", (413, '{"message": "Request Too Long"}')
            )
        handler = self.handlers[route.function]
        try:
            result = handler(event, LambdaContext(route.function, 29))
        except Exception:
            return _json(502, {"errors": ["Internal server error"]})
        body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            body = base64.b64decode(body)
        response = Response(body, status=int(result.get("statusCode", 200)))
        # API Gateway merges both header maps of a proxy answer (Powertools fills
        # multiValueHeaders for REST APIs): a JSON body is application/json here too.
        for key, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.remove(key)
            for value in values:
                response.headers.add(key, value)
        for key, value in (result.get("headers") or {}).items():
            response.headers[key] = value
        return response


def serve_api(
    template: LocalTemplate, functions: dict[str, Function], handlers: dict[str, Handler], port: int
) -> Any:
    gateway = Gateway(template, functions, handlers)
    server = make_server("127.0.0.1", port, gateway, threaded=True, request_handler=_RequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="api-gateway", daemon=True)
    thread.start()
    return server
