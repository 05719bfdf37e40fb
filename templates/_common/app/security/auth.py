"""OAuth2 bearer authentication: verify a JWT issued by your identity provider.

Verification is strict on purpose: a fixed list of asymmetric algorithms (never `none`, never
HS* with a public key), and exp, iat, aud, iss and sub must all be present and valid.

A token that passed those checks is remembered until its `exp` (see `TokenVerifier.verify`): a
client sends the same token with every request, and the signature check is the most expensive
step of a request.

The JWKS is refreshed when it is older than JWT_JWKS_CACHE_SECONDS, but the identity provider is
not a single point of failure: when a refresh fails, the keys fetched before keep serving (stale
while revalidate) and the next attempt waits JWKS_RETRY_SECONDS (negative caching: an outage is
not met with one fetch per request). Only while no key was ever fetched do requests get 503 with
Retry-After.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any

import httpx2
import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from fastapi.security.utils import get_authorization_scheme_param

from app.settings import Settings

log = structlog.get_logger(__name__)

REQUIRED_CLAIMS = ["exp", "iat", "aud", "iss", "sub"]
# Do not refetch the JWKS more often than this when tokens carry an unknown `kid`.
JWKS_REFRESH_COOLDOWN_SECONDS = 30.0
# After a failed JWKS fetch, wait this long before the next attempt (what Retry-After says).
JWKS_RETRY_SECONDS = 10.0

_bearer = HTTPBearer(auto_error=False, description="OAuth2 access token (JWT)")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token subject and its scopes.

    Read-only, claims included: every request that presents the same token gets this same object.
    """

    subject: str
    scopes: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


class InvalidTokenError(Exception):
    """The token is missing, malformed, expired, or not for us."""


class KeysUnavailableError(Exception):
    """No signing key was ever fetched from the JWKS: tokens cannot be checked yet."""


# The public key types JWT signatures use (a PEM may hold others: DSA, DH, X25519).
VerifyingKey = RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey

# Runs before a token is checked in full (see `TokenVerifier.verify`); raises to refuse.
PreCheck = Callable[[Request], Awaitable[None]]


class TokenVerifier:
    """Holds the verification keys for one app and the tokens it verified; shared by requests."""

    def __init__(
        self,
        settings: Settings,
        http: httpx2.AsyncClient,
        *,
        pre_check: PreCheck | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._http = http
        self._pre_check = pre_check
        # Ages of the JWKS and of a failed fetch; tests pass their own clock.
        self._clock = clock
        self._algorithms = list(settings.jwt_algorithms)
        # Parsed now so a bad PEM stops the service at startup, not on the first request.
        self._static_key = (
            _verifying_key(settings.jwt_public_key) if settings.jwt_public_key else None
        )
        # Public keys only: caching them per process is safe and avoids a fetch per request.
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_fetched_at = 0.0
        # No fetch before this (monotonic) time: set by a failed fetch.
        self._jwks_retry_at = 0.0
        self._jwks_lock = asyncio.Lock()
        # Tokens that passed every check: the exact token string -> (its Principal, its `exp`),
        # least recently used first. See `verify`.
        self._verified: OrderedDict[str, tuple[Principal, int]] = OrderedDict()
        self._verified_max = settings.jwt_cache_size

    async def verify(self, token: str, request: Request | None = None) -> Principal:
        # Why remembering a verified token is safe: a JWT carries its own validity. Once its
        # signature, algorithm, aud, iss and times have passed, checking them again against the
        # same settings gives the same answer until `exp`, and nothing can withdraw a JWT before
        # then: revocation is not a JWT feature. What keeps it so:
        # - the key is the whole token string, so an entry answers only for those exact
        #   characters (another signature, header or claim is another key, verified in full);
        # - only successes are stored: a failure is never remembered, and is re-checked in full;
        # - a hit counts only while now < exp, on the wall clock jwt.decode uses and without the
        #   leeway it allows, so no token is accepted for longer than without the cache;
        # - at most JWT_CACHE_SIZE tokens (0 turns this off), the least recently used evicted
        #   first: memory stays bounded however many callers there are, and filling it takes
        #   that many valid tokens. Each verifier (each app) has its own.
        # One difference: with a JWKS, a token signed by a key the issuer has since withdrawn is
        # accepted until its exp, not only until the JWKS is next fetched.
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires_at = cached
            if time.time() < expires_at:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        if self._pre_check is not None and request is not None:
            # Only tokens not verified before get here (an invalid one always does): the cost of
            # a full check is what the pre-check limits, so a client's repeated valid token
            # never pays for it.
            await self._pre_check(request)
        principal, expires_at = await self._verify_uncached(token)
        if self._verified_max > 0:
            self._verified[token] = (principal, expires_at)
            self._verified.move_to_end(token)
            while len(self._verified) > self._verified_max:
                self._verified.popitem(last=False)
        return principal

    async def _verify_uncached(self, token: str) -> tuple[Principal, int]:
        """The full check: a Principal and the token's `exp`, or InvalidTokenError."""
        try:
            if self._static_key is not None:
                key: jwt.PyJWK | VerifyingKey = self._static_key
            else:
                # Only a JWKS needs the unverified header first: its `kid` picks the key.
                key = await self._key_for(jwt.get_unverified_header(token).get("kid"))
            claims = jwt.decode(
                token,
                key=key,
                algorithms=self._algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=self._settings.jwt_leeway_seconds,
                options={"require": REQUIRED_CLAIMS},
            )
            # jwt.decode has checked exp as this integer (and rejects a value that is not one).
            expires_at = int(claims["exp"])
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidTokenError(str(exc)) from exc
        scopes = claims.get("scope") or claims.get("scp") or ""
        if isinstance(scopes, str):
            scopes = scopes.split()
        principal = Principal(
            subject=str(claims["sub"]),
            scopes=frozenset(scopes),
            claims=MappingProxyType(claims),
        )
        return principal, expires_at

    async def _key_for(self, kid: str | None) -> jwt.PyJWK:
        jwks = await self._get_jwks(refresh=False)
        try:
            return _find_key(jwks, kid)
        except KeyError:
            # The issuer may have rotated its keys since we fetched them.
            if self._clock() - self._jwks_fetched_at < JWKS_REFRESH_COOLDOWN_SECONDS:
                raise
            return _find_key(await self._get_jwks(refresh=True), kid)

    async def _get_jwks(self, *, refresh: bool) -> jwt.PyJWKSet:
        if self._jwks is not None and self._jwks_lock.locked():
            # A refresh is on its way: the keys in hand serve meanwhile, nobody queues behind it.
            return self._jwks
        async with self._jwks_lock:  # one fetch at a time, however many requests are waiting
            now = self._clock()
            age = now - self._jwks_fetched_at
            due = (
                self._jwks is None
                or age > self._settings.jwt_jwks_cache_seconds
                or (refresh and age >= JWKS_REFRESH_COOLDOWN_SECONDS)
            )
            if due and now >= self._jwks_retry_at:
                await self._fetch_jwks()
            if self._jwks is None:
                raise KeysUnavailableError(str(self._settings.jwt_jwks_url))
            return self._jwks

    async def _fetch_jwks(self) -> None:
        """Replace the keys with the issuer's current ones; on failure keep them, and wait."""
        try:
            response = await self._http.get(str(self._settings.jwt_jwks_url))
            response.raise_for_status()
            jwks = jwt.PyJWKSet.from_dict(response.json())
        except (httpx2.HTTPError, jwt.PyJWTError, ValueError) as exc:
            self._jwks_retry_at = self._clock() + JWKS_RETRY_SECONDS
            log.warning(
                "jwks_fetch_failed",
                error=f"{type(exc).__name__}: {exc}",
                serving_cached_keys=self._jwks is not None,
                retry_in_seconds=JWKS_RETRY_SECONDS,
            )
            return
        self._jwks = jwks
        self._jwks_fetched_at = self._clock()


def _verifying_key(pem: str) -> VerifyingKey:
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, VerifyingKey):
        raise ValueError(f"JWT_PUBLIC_KEY holds a {type(key).__name__}, not a JWT signing key")
    return key


def _find_key(jwks: jwt.PyJWKSet, kid: str | None) -> jwt.PyJWK:
    if kid is None:
        if len(jwks.keys) == 1:
            return jwks.keys[0]
        raise KeyError("token has no kid and the JWKS has several keys")
    return jwks[kid]


def _unauthorized(detail: str, *, error: str | None = None) -> HTTPException:
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": challenge},
    )


async def _principal(request: Request, token: str | None) -> Principal:
    """The verified principal of a bearer token, else 401 with a Bearer challenge: the check
    `authenticate` and `bearer_auth` share."""
    if token is None:
        raise _unauthorized("Not authenticated")
    verifier: TokenVerifier = request.state.token_verifier
    try:
        return await verifier.verify(token, request)
    except InvalidTokenError as exc:
        raise _unauthorized("Invalid token", error="invalid_token") from exc
    except KeysUnavailableError as exc:
        # The identity provider has never answered: nobody can be authenticated yet, and it is
        # not the caller's fault. Retry once the next fetch may have succeeded.
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="Token signing keys unavailable",
            headers={"Retry-After": str(int(JWKS_RETRY_SECONDS))},
        ) from exc


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The request must carry a valid bearer token, for dependencies that take HTTPBearer's
    credentials (the Lambda variant's); routers use `bearer_auth`."""
    return await _principal(request, credentials.credentials if credentials else None)


class BearerAuthentication(HTTPBearer):
    """The bearer scheme and the token check as one dependency: use `Depends(bearer_auth)`.

    OpenAPI documents it as the HTTPBearer scheme it is. FastAPI resolves every dependency of
    every request anew, and `authenticate` on top of the scheme it depends on made two.
    """

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        # HTTPBearer's own parsing, minus the pydantic credentials object it builds on every
        # request only to be unwrapped.
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        bearer = scheme.lower() == "bearer" and token
        return await _principal(request, token if bearer else None)


# Router-level dependency: the request must carry a valid bearer token. Same OpenAPI scheme as
# `_bearer`, under the same name.
bearer_auth = BearerAuthentication(
    scheme_name="HTTPBearer", auto_error=False, description="OAuth2 access token (JWT)"
)


async def require_scopes(
    security_scopes: SecurityScopes,
    principal: Annotated[Principal, Depends(bearer_auth)],
) -> Principal:
    """Use as `Security(require_scopes, scopes=["items:write"])` on a route."""
    missing = set(security_scopes.scopes) - principal.scopes
    if missing:
        challenge = f'Bearer error="insufficient_scope", scope="{security_scopes.scope_str}"'
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"Missing scope: {' '.join(sorted(missing))}",
            headers={"WWW-Authenticate": challenge},
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(bearer_auth)]
