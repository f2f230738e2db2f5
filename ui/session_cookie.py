"""The session cookie, set and cleared by the server: HttpOnly (no script on the page can read it),
SameSite=Strict, Secure when the browser came over HTTPS (directly or through the proxy: X-Forwarded-Proto).

``streamlit run app.py`` serves the ``st.App`` of app.py, which mounts :data:`ROUTES` beside Streamlit's own:

- ``POST /_gov/session`` (body: a one-time grant): after a sign-in the page posts the grant it was given
  (ui/auth.sync_cookie); the server redeems it once for the session token (data_access.core.users.redeem_grant)
  and answers with the cookie.  The page never holds the token itself.
- ``POST /_gov/session/end``: after a sign-out the page posts here; the server ends the session its cookie
  names and clears the cookie.

Both answer only the app's own pages: a custom header (``X-Gov-Session: 1``, which another site cannot send
without a CORS preflight this server never grants), no ``Sec-Fetch-Site`` other than same-origin, and an
``Origin``, when sent, naming this host.  The handlers run the database calls in a worker thread.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from data_access.core import users
from data_access.core.db import default_url, get_engine
from data_access.core.errors import DATABASE_ERRORS

COOKIE = "gov_session"
START_PATH = "/_gov/session"
END_PATH = "/_gov/session/end"
HEADER = "X-Gov-Session"
_MAX_BODY = 256


def _from_this_app(request: Request) -> bool:
    if request.headers.get(HEADER) != "1":
        return False
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return False
    origin = request.headers.get("origin")
    if origin is not None:
        # Host names only: nginx passes Host without the port it listens on ($host).
        host = urlsplit(f"//{request.headers.get('host', '')}").hostname
        if urlsplit(origin).hostname != host:
            return False
    return True


def _https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _answer(status: int) -> Response:
    return Response(status_code=status, headers={"Cache-Control": "no-store"})


async def start(request: Request) -> Response:
    if not _from_this_app(request):
        return _answer(403)
    body = (await request.body())[:_MAX_BODY]
    grant = body.decode("ascii", "replace").strip()
    try:
        token = await run_in_threadpool(users.redeem_grant, get_engine(default_url()), grant)
    except DATABASE_ERRORS:
        return _answer(503)
    if token is None:
        return _answer(400)
    response = _answer(204)
    response.set_cookie(COOKIE, token, max_age=users.SESSION_MAX_HOURS * 3600, path="/", secure=_https(request),
                        httponly=True, samesite="strict")
    return response


async def end(request: Request) -> Response:
    if not _from_this_app(request):
        return _answer(403)
    token = request.cookies.get(COOKIE)
    if token:
        try:
            await run_in_threadpool(users.close_session, get_engine(default_url()), token)
        except DATABASE_ERRORS:
            return _answer(503)
    response = _answer(204)
    response.delete_cookie(COOKIE, path="/", secure=_https(request), httponly=True, samesite="strict")
    return response


ROUTES = [Route(START_PATH, start, methods=["POST"]), Route(END_PATH, end, methods=["POST"])]
