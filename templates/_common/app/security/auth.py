"""OAuth2 bearer authentication: verify a JWT issued by your identity provider.

Verification is strict on purpose: a fixed list of asymmetric algorithms (never `none`, never
HS* with a public key), and exp, iat, aud, iss and sub must all be present and valid.
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from app.settings import Settings

REQUIRED_CLAIMS = ["exp", "iat", "aud", "iss", "sub"]
# Do not refetch the JWKS more often than this when tokens carry an unknown `kid`.
JWKS_REFRESH_COOLDOWN_SECONDS = 30.0

_bearer = HTTPBearer(auto_error=False, description="OAuth2 access token (JWT)")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token subject and its scopes."""

    subject: str
    scopes: frozenset[str] = frozenset()
    claims: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class InvalidTokenError(Exception):
    """The token is missing, malformed, expired, or not for us."""


class TokenVerifier:
    """Holds the verification keys for one app; built once in the lifespan, shared by requests."""

    def __init__(self, settings: Settings, http: httpx2.AsyncClient) -> None:
        self._settings = settings
        self._http = http
        self._algorithms = list(settings.jwt_algorithms)
        # Parsed now so a bad PEM stops the service at startup, not on the first request.
        self._static_key = (
            load_pem_public_key(settings.jwt_public_key.encode())
            if settings.jwt_public_key
            else None
        )
        # Public keys only: caching them per process is safe and avoids a fetch per request.
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_fetched_at = 0.0
        self._jwks_lock = asyncio.Lock()

    async def verify(self, token: str) -> Principal:
        try:
            if self._static_key is not None:
                key: jwt.PyJWK | PublicKeyTypes = self._static_key
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
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidTokenError(str(exc)) from exc
        scopes = claims.get("scope") or claims.get("scp") or ""
        if isinstance(scopes, str):
            scopes = scopes.split()
        return Principal(subject=str(claims["sub"]), scopes=frozenset(scopes), claims=claims)

    async def _key_for(self, kid: str | None) -> jwt.PyJWK:
        jwks = await self._get_jwks(refresh=False)
        try:
            return _find_key(jwks, kid)
        except KeyError:
            # The issuer may have rotated its keys since we fetched them.
            if time.monotonic() - self._jwks_fetched_at < JWKS_REFRESH_COOLDOWN_SECONDS:
                raise
            return _find_key(await self._get_jwks(refresh=True), kid)

    async def _get_jwks(self, *, refresh: bool) -> jwt.PyJWKSet:
        max_age = self._settings.jwt_jwks_cache_seconds
        async with self._jwks_lock:  # one fetch at a time, however many requests are waiting
            age = time.monotonic() - self._jwks_fetched_at
            if (
                self._jwks is None
                or age > max_age
                or (refresh and age >= JWKS_REFRESH_COOLDOWN_SECONDS)
            ):
                response = await self._http.get(str(self._settings.jwt_jwks_url))
                response.raise_for_status()
                self._jwks = jwt.PyJWKSet.from_dict(response.json())
                self._jwks_fetched_at = time.monotonic()
            return self._jwks


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


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Router-level dependency: the request must carry a valid bearer token."""
    if credentials is None:
        raise _unauthorized("Not authenticated")
    verifier: TokenVerifier = request.state.token_verifier
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidTokenError as exc:
        raise _unauthorized("Invalid token", error="invalid_token") from exc


async def require_scopes(
    security_scopes: SecurityScopes,
    principal: Annotated[Principal, Depends(authenticate)],
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


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
