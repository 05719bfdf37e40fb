"""Error responses: JSON bodies, and the security headers even on a 500."""

import structlog
from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from app.security.headers import apply_security_headers

log = structlog.get_logger(__name__)


class UpstreamError(Exception):
    """An upstream could not give a usable answer in time; map it to 502/503/504, never retry it.

    Defined here, not in app.http_client, so that installing the error handlers does not import
    the HTTP client stack (a cold-start cost on Lambda); app.http_client re-exports it.
    """

    def __init__(self, upstream: str, reason: str, *, invalid_answer: bool = False) -> None:
        super().__init__(f"{upstream}: {reason}")
        self.upstream = upstream
        self.reason = reason
        # An answer that is not what the contract says (not JSON, wrong shape): 502, since
        # asking again will not help soon. Otherwise the upstream is unavailable: 503.
        self.invalid_answer = invalid_answer


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Starlette runs this handler in ServerErrorMiddleware, outside every user middleware:
    # the request id and security headers have to be added here.
    log.error("unhandled_exception", path=request.url.path, exc_info=exc)
    response = JSONResponse(
        {"detail": "Internal Server Error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR
    )
    apply_security_headers(response.headers)
    if request_id := correlation_id.get():
        response.headers["X-Request-ID"] = request_id
    return response


async def _upstream_failed(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, UpstreamError):  # registered for UpstreamError only
        raise exc
    log.warning("upstream_failed", upstream=exc.upstream, reason=exc.reason)
    if exc.invalid_answer:
        return JSONResponse(
            {"detail": f"Upstream {exc.upstream} gave an invalid answer"},
            status_code=status.HTTP_502_BAD_GATEWAY,
        )
    return JSONResponse(
        {"detail": f"Upstream {exc.upstream} unavailable"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(UpstreamError, _upstream_failed)
    app.add_exception_handler(Exception, _unhandled)
