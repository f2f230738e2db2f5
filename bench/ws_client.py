"""A minimal scripted client of Streamlit's websocket protocol, for benchmarks against a real ``streamlit run``.

What a browser tab does, without the browser: open ``/_stcore/stream`` (with the ``gov_session`` cookie, so
the app resumes a signed-in session: ui/auth.py), send a ``BackMsg.rerun_script`` (a ``ClientState`` with
the URL's query string and the page's url path as ``page_name``) and read ``ForwardMsg``s until the run
ends.  One :class:`StreamlitClient` is one tab (one server-side session); every :meth:`StreamlitClient.run`
is one script run on it.

The protocol, as the server reads it (streamlit 1.67, ``web/server/starlette/starlette_websocket.py`` and
``runtime/app_session.py``):

- Binary frames only, one serialized ``BackMsg`` / ``ForwardMsg`` each.  ``Sec-WebSocket-Protocol`` carries
  ``streamlit[, xsrf token[, session id to resume]]``; without an ``Origin`` header the XSRF check is skipped
  (it only guards Streamlit's own ``st.login`` cookie, which this app does not use for its sessions).
- A run starts with ``new_session`` and ends with ``script_finished``.  ``FINISHED_EARLY_FOR_RERUN`` means
  the app called ``st.rerun`` / ``st.switch_page`` (or a newer request replaced the run): the next
  ``new_session`` follows and the run is only over at ``FINISHED_SUCCESSFULLY`` (or a compile error).
- The client reports no cached message hashes, so the server never answers with ``ref_hash`` placeholders.
- ``page_info_changed`` carries the query string the app wrote (``st.query_params``); a browser puts it in
  its address bar.  ``auto_rerun`` asks the browser to rerun a fragment every N s: ignored here (a scripted
  tab does not refresh by itself).

Usage::

    async with StreamlitClient("http://127.0.0.1:8501", cookies={"gov_session": token}) as tab:
        r = await tab.run("overview")
        r2 = await tab.run("overview", {"region": "431302"})
        assert r2.ok and "娄星区" in (r2.title or "")
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import urlencode, urlsplit

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

STREAM_PATH = "/_stcore/stream"
FINISHED_OK = ForwardMsg.FINISHED_SUCCESSFULLY
FINISHED_RERUN = ForwardMsg.FINISHED_EARLY_FOR_RERUN
FINISHED_COMPILE_ERROR = ForwardMsg.FINISHED_WITH_COMPILE_ERROR


@dataclass(frozen=True)
class Widget:
    """A widget the last run drew: its id, element kind, label, option labels (as the browser shows and
    sends them) and the ``key=`` it was given (None for a widget without one)."""

    id: str
    kind: str
    label: str
    options: tuple[str, ...] = ()
    key: str | None = None
    wire: tuple[str, ...] = ()  # what the browser sends for each option (a segmented control's icon included)

    def wire_value(self, label: str) -> str:
        """The value sent for the option shown as ``label``; ValueError when there is no such option."""
        if label not in self.options:
            raise ValueError(f"{self.key or self.label}: {label!r} is not one of {list(self.options)}")
        return (self.wire or self.options)[self.options.index(label)]


def widget_of(el: Element) -> Widget | None:
    """The widget an element is, or None (Streamlit's ids end in ``-<user key>``, ``-None`` without one)."""
    kind = el.WhichOneof("type")
    if kind not in ("selectbox", "multiselect", "button_group", "button", "checkbox", "text_input", "text_area",
                    "radio"):
        return None
    w = getattr(el, kind)
    wire: tuple[str, ...] = ()
    if kind == "button_group":  # the server splits a leading icon off the formatted option; it expects it back
        options: tuple[str, ...] = tuple(o.content for o in w.options)
        wire = tuple(f"{o.content_icon} {o.content}" if o.content_icon else o.content for o in w.options)
    elif kind in ("selectbox", "multiselect", "radio"):
        options = tuple(w.options)
    else:
        options = ()
    parts = w.id.split("-", 2)
    key = parts[2] if len(parts) == 3 and parts[2] != "None" else None
    return Widget(w.id, kind, w.label, options, key, wire)


def widget_state(w: Widget, value: object) -> WidgetStates:
    """The ``WidgetStates`` a browser sends when the user sets ``w`` to ``value``: an option label (or a list
    of them for a multiselect or segmented control), True for a button click, a bool for a checkbox or
    toggle, a string for a text input or text area."""
    return widget_states([(w, value)])


def widget_states(changes: list[tuple[Widget, object]]) -> WidgetStates:
    """Several widgets at once, as a browser sends a form on its submit button: each (widget, value) as in
    :func:`widget_state`; widgets left out keep their defaults."""
    states = WidgetStates()
    for w, value in changes:
        ws = states.widgets.add()
        ws.id = w.id
        if w.kind == "button":
            ws.trigger_value = True
        elif w.kind == "checkbox":
            ws.bool_value = bool(value)
        elif w.kind in ("selectbox", "radio"):
            ws.string_value = w.wire_value(str(value))
        elif w.kind in ("text_input", "text_area"):
            ws.string_value = str(value)
        else:  # multiselect, button_group: labels
            labels = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
            ws.string_array_value.data.extend(w.wire_value(v) for v in labels)
    return states


class ClientError(Exception):
    """The connection failed or closed (as opposed to an app error inside a run)."""


@dataclass
class RunResult:
    """What one script run sent back.

    ``status`` is "ok" (the run finished), "compile_error", "timeout" (no end within the limit) or
    "disconnected".  ``texts`` is the visible text in the order it arrived (headings, markdown and captions,
    metric "label: value delta", alerts, toasts, text); ``exceptions`` and ``errors`` (error alerts) are also
    kept apart, ``warnings`` are warning alerts and toasts.  ``query_string`` is what the app last wrote to
    the URL during the run (None if it wrote nothing).  Only the last script run counts for ``texts``,
    ``title`` and ``headings`` (a run cut short by ``st.rerun`` is thrown away, as a browser does);
    exceptions and errors of every run of the request are kept."""

    elapsed_s: float
    status: str
    page: str
    query: str
    texts: list[str] = field(default_factory=list)
    headings: list[tuple[str, str]] = field(default_factory=list)  # (tag, body)
    exceptions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    query_string: str | None = None
    page_script_hash: str = ""
    page_not_found: bool = False
    widgets: list[Widget] = field(default_factory=list)
    runs: int = 0  # script runs (new_session messages) until the end
    messages: int = 0
    bytes: int = 0

    @property
    def ok(self) -> bool:
        """Finished, with no exception element, no error alert and no page-not-found."""
        return self.status == "ok" and not self.exceptions and not self.errors and not self.page_not_found

    @property
    def title(self) -> str | None:
        """The page's first ``st.title`` (h1), or the first heading."""
        for tag, body in self.headings:
            if tag == "h1":
                return body
        return self.headings[0][1] if self.headings else None

    @property
    def problems(self) -> list[str]:
        """Everything that makes the run not ``ok``, as short strings."""
        out = [] if self.status == "ok" else [self.status]
        out += [f"exception: {e}" for e in self.exceptions] + [f"error: {e}" for e in self.errors]
        return out + (["page not found"] if self.page_not_found else [])

    def has_text(self, needle: str) -> bool:
        """Whether any visible text contains ``needle``."""
        return any(needle in s for s in self.texts)


def _query_string(query: str | Mapping[str, str] | None) -> str:
    if query is None:
        return ""
    return query.lstrip("?") if isinstance(query, str) else urlencode(dict(query))


def _ws_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{STREAM_PATH}"


def element_texts(el: Element) -> tuple[str | None, list[tuple[str, str]]]:
    """(kind, [(category, text)]) of one element: category is "text", "heading:<tag>", "exception",
    "error" or "warning"."""
    kind = el.WhichOneof("type")
    if kind == "heading":
        return kind, [(f"heading:{el.heading.tag or 'h1'}", el.heading.body)]
    if kind == "markdown":
        return kind, [("text", el.markdown.body)]
    if kind == "text":
        return kind, [("text", el.text.body)]
    if kind == "metric":
        m = el.metric
        return kind, [("text", f"{m.label}: {m.body}" + (f" {m.delta}" if m.delta else ""))]
    if kind == "alert":
        cat = {Alert.ERROR: "error", Alert.WARNING: "warning"}.get(el.alert.format, "text")
        return kind, [(cat, el.alert.body)]
    if kind == "toast":
        return kind, [("warning", el.toast.body)]
    if kind == "exception":
        ex = el.exception
        cat = "warning" if ex.is_warning else "exception"
        return kind, [(cat, f"{ex.type}: {ex.message}".strip(": "))]
    return kind, []


class StreamlitClient:
    """One scripted browser tab: one websocket, one server-side session, runs one after the other.

    ``base_url`` is the app's http(s) URL (a path prefix is kept: ``http://host/prefix``).  ``cookies`` and
    ``headers`` go with the handshake; :attr:`handshake_headers` holds the HTTP response headers of the
    handshake (e.g. ``X-Upstream`` added by a reverse proxy).  Every wait is bounded: ``connect_timeout`` for
    the handshake, ``run_timeout`` (or the call's ``timeout``) for a run."""

    def __init__(self, base_url: str, cookies: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None, connect_timeout: float = 15.0,
                 run_timeout: float = 60.0) -> None:
        self.url = _ws_url(base_url)
        self.cookies = dict(cookies or {})
        self.headers = dict(headers or {})
        self.connect_timeout = connect_timeout
        self.run_timeout = run_timeout
        self.handshake_headers: dict[str, str] = {}
        self.handshake_status: int | None = None
        self.pages: dict[str, str] = {}  # url path -> page script hash (from the navigation message)
        self.page_script_hash = ""  # of the page the last run showed
        self.query_string = ""  # the URL as the app left it (what a browser's address bar would show)
        self.widgets: list[Widget] = []  # the widgets the last finished run drew
        self._ws: ClientConnection | None = None

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def upstream(self) -> str:
        """The process a reverse proxy passed the handshake to (its ``X-Upstream`` header), or ""."""
        return {k.lower(): v for k, v in self.handshake_headers.items()}.get("x-upstream", "")

    @property
    def connected(self) -> bool:
        """Whether the websocket is open."""
        return self._ws is not None

    async def connect(self) -> None:
        """Open the websocket (bounded by ``connect_timeout``); raises :class:`ClientError` on failure."""
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self._ws = await asyncio.wait_for(
                connect(self.url, additional_headers=headers, subprotocols=["streamlit"],
                        open_timeout=self.connect_timeout, max_size=None, compression=None,
                        ping_interval=None, proxy=None),
                self.connect_timeout + 1)
        except InvalidStatus as exc:  # refused with an HTTP status (a proxy's 403 or 502, a 404 path)
            self.handshake_status = exc.response.status_code
            self.handshake_headers = dict(exc.response.headers.raw_items())
            raise ClientError(f"connect {self.url}: HTTP {exc.response.status_code}") from exc
        except Exception as exc:
            raise ClientError(f"connect {self.url}: {type(exc).__name__}: {exc}") from exc
        response = self._ws.response
        self.handshake_status = response.status_code if response is not None else None
        self.handshake_headers = dict(response.headers.raw_items()) if response is not None else {}

    async def close(self) -> None:
        """Close the websocket (bounded: never waits more than a few seconds)."""
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(), 5)
            except (TimeoutError, ConnectionClosed, OSError):
                pass

    @staticmethod
    def _back_msg(page: str, query: str, widget_states: WidgetStates | None, page_script_hash: str | None,
                  history: bool = False) -> bytes:
        """The serialized ``rerun_script`` request."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = query
        cs.page_name = page
        cs.is_history_navigation = history
        if page_script_hash is not None:
            cs.page_script_hash = page_script_hash
        if widget_states is not None:
            cs.widget_states.CopyFrom(widget_states)
        return msg.SerializeToString()

    async def run(self, page: str = "", query: str | Mapping[str, str] | None = None,
                  timeout: float | None = None, widget_states: WidgetStates | None = None,
                  page_script_hash: str | None = None, history: bool = False) -> RunResult:
        """Ask for one script run of ``page`` (the url path, "" = the default page) with the URL's ``query``
        and wait until it ends; never raises for app errors, never waits longer than ``timeout``.  After a
        "timeout" the old run's messages may still come: reconnect before timing anything else.

        A browser sends the page's script hash once it knows it; by default only the url path is sent
        (``page_name``) and ``st.navigation`` resolves it (``pages_manager``: the page whose
        ``url_pathname`` equals it; the default page's is "", whatever its ``url_path``).  ``history`` marks
        the rerun as a browser back/forward (``is_history_navigation``).  Until the app writes the URL
        (``page_info_changed``), :attr:`query_string` is the one sent, as in a browser's address bar."""
        qs = _query_string(query)
        result = RunResult(0.0, "disconnected", page, qs)
        if self._ws is None:
            return result
        limit = self.run_timeout if timeout is None else timeout
        self.query_string = qs
        msg = self._back_msg(page, qs, widget_states, page_script_hash, history)
        t0 = time.perf_counter()
        try:
            await asyncio.wait_for(self._ws.send(msg), limit)
            await asyncio.wait_for(self._collect(result), max(0.0, limit - (time.perf_counter() - t0)))
        except TimeoutError:
            result.status = "timeout"
        except (ConnectionClosed, OSError) as exc:
            result.status = "disconnected"
            result.errors.append(f"{type(exc).__name__}: {exc}")
            self._ws = None
        result.elapsed_s = time.perf_counter() - t0
        return result

    def widget(self, key: str | None = None, label: str | None = None, kind: str | None = None) -> Widget:
        """The last run's widget with this ``key=`` (or, for one without a key, this label and kind);
        raises KeyError when there is none."""
        for w in self.widgets:
            if (key is not None and w.key == key) or (key is None and w.label == label
                                                      and (kind is None or w.kind == kind)):
                return w
        raise KeyError(key or label)

    async def interact(self, w: Widget, value: object = True, timeout: float | None = None) -> RunResult:
        """What a user's change of a widget does in a browser: a rerun of the current page, with the URL the
        app left (``query_string``) and the widget's new value; ``value`` as in :func:`widget_state`."""
        return await self.run("", self.query_string, timeout=timeout, widget_states=widget_state(w, value),
                              page_script_hash=self.page_script_hash)

    async def submit(self, changes: list[tuple[Widget, object]], timeout: float | None = None) -> RunResult:
        """A form filled in and sent: ``changes`` (the form's widgets and their values, the submit button
        with True) in one rerun of the current page."""
        return await self.run("", self.query_string, timeout=timeout, widget_states=widget_states(changes),
                              page_script_hash=self.page_script_hash)

    async def _collect(self, result: RunResult) -> None:
        """Read ForwardMsgs into ``result`` until the run (after any ``st.rerun``) has finished."""
        assert self._ws is not None
        started = False  # a new_session of this request seen: messages before it belong to an older run
        while True:
            raw = await self._ws.recv(decode=False)
            result.messages += 1
            result.bytes += len(raw)
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                started = True
                result.runs += 1
                result.texts.clear()
                result.headings.clear()
                result.widgets.clear()
                result.page_script_hash = msg.new_session.page_script_hash
                continue
            if not started:
                continue
            if kind == "script_finished":
                if msg.script_finished == FINISHED_RERUN:
                    started = False
                    continue
                result.status = "compile_error" if msg.script_finished == FINISHED_COMPILE_ERROR else "ok"
                self.page_script_hash = result.page_script_hash
                self.widgets = list(result.widgets)
                return
            if kind == "navigation":
                self.pages.update({p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages})
                result.page_script_hash = msg.navigation.page_script_hash or result.page_script_hash
            elif kind == "page_info_changed":
                result.query_string = self.query_string = msg.page_info_changed.query_string
            elif kind == "page_not_found":
                result.page_not_found = True
            elif kind == "delta":
                self._take_delta(msg, result)

    @staticmethod
    def _take_delta(msg: ForwardMsg, result: RunResult) -> None:
        delta = msg.delta
        which = delta.WhichOneof("type")
        elements = ([delta.new_element] if which == "new_element"
                    else list(delta.new_transient.elements) if which == "new_transient" else [])
        for el in elements:
            w = widget_of(el)
            if w is not None:
                result.widgets.append(w)
            _, items = element_texts(el)
            for cat, text in items:
                if cat.startswith("heading:"):
                    result.headings.append((cat.split(":", 1)[1], text))
                    result.texts.append(text)
                elif cat == "exception":
                    result.exceptions.append(text)
                elif cat == "error":
                    result.errors.append(text)
                    result.texts.append(text)
                elif cat == "warning":
                    result.warnings.append(text)
                    result.texts.append(text)
                else:
                    result.texts.append(text)
