"""FastAPI dependencies: the app's services, and the API key check (401 missing or unknown,
403 by role, 429 over the per-key rate limit)."""

import math
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.access import ALLOWED, Action, may
from service.errors import ApiError
from service.keys import ApiKey, find_key
from service.services import Services

bearer = HTTPBearer(auto_error=False, description="An API key from `rag keys create`.")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def require(action: Action) -> Callable[..., ApiKey]:
    """A dependency that returns the caller's key when it may perform ``action``."""

    def authorized_key(services: ServicesDep, credentials: Credentials) -> ApiKey:
        if credentials is None:
            raise ApiError(
                401,
                "unauthorized",
                "missing API key; send the header 'Authorization: Bearer KEY' (create a key with `rag keys create`).",
                _CHALLENGE,
            )
        with services.pool.connection() as conn:
            key = find_key(conn, credentials.credentials)
        if key is None:
            raise ApiError(
                401,
                "unauthorized",
                "unknown or revoked API key; check the key or create one with `rag keys create`.",
                _CHALLENGE,
            )
        if not may(key.role, action):
            roles = ", ".join(sorted(r.value for r in ALLOWED[action]))
            raise ApiError(
                403, "forbidden", f"a {key.role.value} key may not {action.value}; use a key with role {roles}."
            )
        wait = services.limiter.acquire(key.id)
        if wait:
            seconds = math.ceil(wait)
            raise ApiError(
                429,
                "rate_limited",
                f"this key made more than {services.settings.rate_limit_per_minute} requests in a minute; "
                f"retry after {seconds} s or raise RAG_RATE_LIMIT_PER_MINUTE.",
                {"Retry-After": str(seconds)},
            )
        return key

    return authorized_key
