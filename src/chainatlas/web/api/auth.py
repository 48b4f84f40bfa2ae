"""Roles on API routes: the dependency that needs a signed-in user of some role, and the
documented 401/403 answers and security schemes (bearer token, session cookie + CSRF).

The middleware (:mod:`chainatlas.web.auth`) has identified the caller and checked Host,
Origin and the CSRF token already; :func:`require_role` only reads its verdict, so every
rule keeps one home.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyCookie, HTTPBearer
from starlette.exceptions import HTTPException

from chainatlas.store.users import User
from chainatlas.web.api.common import ErrorBody
from chainatlas.web.auth import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    SIGN_IN_HINT,
    request_identity,
)

_bearer = HTTPBearer(auto_error=False, scheme_name="bearerToken",
                     description="API token from `chainatlas users token NAME`.")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="sessionCookie",
                       description="Session cookie set by signing in at /login. "
                                   f"State-changing requests also send {CSRF_HEADER}.")
# Parameters that only document the credentials in OpenAPI (the middleware checked them).
BearerDoc = Annotated[Any, Depends(_bearer)]
CookieDoc = Annotated[Any, Depends(_cookie)]
CsrfHeader = Annotated[str | None, Header(
    alias=CSRF_HEADER, max_length=128,
    description=f"With the session cookie: the value of the {CSRF_COOKIE} cookie "
                "(not needed with a bearer token).")]

#: The documented 401 and 403 answers of a route that needs a role.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Not signed in, or an invalid API token"},
    403: {"model": ErrorBody,
          "description": "Role too low, cross-origin request, or a missing CSRF token"},
}


def require_role(role: str) -> Any:
    """A route dependency giving the signed-in :class:`User` holding ``role`` or a higher
    one: 401 for an anonymous caller, 403 for a lower role."""
    def signed_in(request: Request, _bearer_token: BearerDoc = None,
                  _session: CookieDoc = None, _csrf: CsrfHeader = None) -> User:
        user = request_identity(request).user
        if user is None:
            raise HTTPException(401, SIGN_IN_HINT, headers={"WWW-Authenticate": "Bearer"})
        if not user.can(role):
            raise HTTPException(403, f"This needs the {role} role; {user.name} is "
                                     f"{user.role}.")
        return user
    return Depends(signed_in)
