"""Start and stop a real ``streamlit run app.py`` for the benchmarks, and read its memory.

    with StreamlitServer("sqlite:///bench/full.db") as srv:
        print(srv.url, srv.pid)          # http://127.0.0.1:<free port>
        ...                              # scripted clients (bench/ws_client.py)
        print(srv.memory())              # {"vm_hwm_mib": …, "vm_rss_mib": …}

The server is ``python -m streamlit run app.py --server.headless true --server.port <port>
--server.address 127.0.0.1`` in the repository root, with GOV_DB_URL, GOV_AUTO_DEMO=0,
GOV_NOW=2026-10-08T12:00:00, a fixed STREAMLIT_SERVER_COOKIE_SECRET and no file watcher; it is ready when
``GET /_stcore/health`` answers "ok" and the port's listening socket is its own (not another server's that
took the free port first: then it is started again on another port), and it is always stopped (SIGTERM,
then SIGKILL) when the ``with`` block ends, whatever happened inside.  Its output goes to a log file
(``log_path``; the tail is in the error when it does not come up).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Self, TypeVar

ROOT = Path(__file__).resolve().parents[1]
BENCH_NOW = "2026-10-08T12:00:00"
BENCH_COOKIE_SECRET = "bench-cookie-secret-0123456789abcdef0123456789abcdef"


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the benchmark process dies (Linux), so no server is left."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now.  Only right now: another process may take it before the server
    that is given it binds it, so whoever starts a server on it must check that the server got it
    (:meth:`StreamlitServer.start` does, and tries another port when it did not)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _listening_inodes(port: int) -> set[str] | None:
    """The socket inodes listening on TCP ``port`` (IPv4 and IPv6), from /proc/net; None off Linux."""
    found: set[str] = set()
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not any(t.exists() for t in tables):
        return None
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                found.add(f[9])
    return found


def listens_on(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a socket listening on TCP ``port`` (True where /proc cannot tell: not
    Linux, or a sandbox whose /proc/net shows no inode for the port)."""
    inodes = _listening_inodes(port)
    if not inodes or inodes == {"0"}:
        return True
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


class PortTaken(RuntimeError):
    """The server could not bind its port: another process took it after :func:`free_port` chose it."""


T = TypeVar("T")


def on_a_free_port(start_once: Callable[[], T], next_port: Callable[[], None], attempts: int) -> T:
    """``start_once()``, again after ``next_port()`` when it raises :class:`PortTaken` (a port chosen free
    that another process took before ours bound it), ``attempts`` times at most."""
    for attempt in range(1, attempts + 1):
        try:
            return start_once()
        except PortTaken:
            if attempt == attempts:
                raise
            next_port()
    raise AssertionError("unreachable")


def proc_status(pid: int) -> dict[str, int]:
    """The ``kB`` fields of /proc/<pid>/status (VmHWM, VmRSS, …), in kB; {} when the process is gone."""
    out: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            out[key] = int(parts[0])
    return out


def health(url: str, timeout: float = 2.0) -> str | None:
    """The body of ``GET <url>/_stcore/health`` ("ok" when ready), or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as r:
            return r.read().decode("utf-8", "replace").strip()
    except (urllib.error.URLError, OSError, ValueError):
        return None


class StreamlitServer:
    """One ``streamlit run app.py`` process on loopback (a context manager: started on enter, always
    stopped on exit).

    ``env`` adds to (or overrides) the process environment; ``args`` adds ``streamlit run`` options (e.g.
    ``["--client.showErrorDetails", "full"]``).  ``startup_timeout`` bounds the wait for the health check.
    Without ``port`` a free one is chosen, and another one if a different process takes it first."""

    PORT_ATTEMPTS = 3  # free ports tried before giving up (only when no ``port`` was given)

    def __init__(self, db_url: str, port: int | None = None, host: str = "127.0.0.1",
                 env: Mapping[str, str] | None = None, args: Sequence[str] = (),
                 startup_timeout: float = 120.0, log_path: str | Path | None = None,
                 python: str = sys.executable, root: Path = ROOT) -> None:
        self.db_url = db_url
        self.host = host
        self.port = port or free_port(host)
        self._own_port = port is None  # chosen here: another one may be chosen if it is taken
        self._own_log = log_path is None  # named after the port
        self.extra_env = dict(env or {})
        self.args = list(args)
        self.startup_timeout = startup_timeout
        self.python = python
        self.root = root
        self.log_path = Path(log_path) if log_path else Path(tempfile.gettempdir()) / f"bench_streamlit_{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_s: float | None = None  # seconds from spawn to a healthy server
        self._last_status: dict[str, int] = {}

    @property
    def url(self) -> str:
        """The app's base URL (http://host:port)."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id (None before start)."""
        return self.proc.pid if self.proc else None

    def command(self) -> list[str]:
        """The command line that starts the server."""
        return [self.python, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                "--server.port", str(self.port), "--server.address", self.host, *self.args]

    def environment(self) -> dict[str, str]:
        """The server's environment: this process's, plus the benchmark's settings, plus ``env``."""
        env = dict(os.environ)
        env.update({"GOV_DB_URL": self.db_url, "GOV_AUTO_DEMO": "0", "GOV_NOW": BENCH_NOW,
                    "STREAMLIT_SERVER_COOKIE_SECRET": BENCH_COOKIE_SECRET,
                    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1",
                    # As in production (deploy/production.env): with the watcher on, an edit of any module
                    # of the app under a running server makes Streamlit drop it from sys.modules, and
                    # sessions running at that moment fail while re-importing it (KeyError: 'data_access.…').
                    "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"})
        env.update(self.extra_env)
        return env

    def start(self) -> Self:
        """Spawn the server and wait until its health check says "ok" on a port it listens on itself; raises
        RuntimeError (after stopping it) when it exits or is not healthy within ``startup_timeout``.  When
        the port chosen by :func:`free_port` was taken in the meantime, starts it again on another one."""
        def next_port() -> None:
            self.port = free_port(self.host)
            if self._own_log:
                self.log_path = Path(tempfile.gettempdir()) / f"bench_streamlit_{self.port}.log"

        return on_a_free_port(self._start_once, next_port, self.PORT_ATTEMPTS if self._own_port else 1)

    def _start_once(self) -> Self:
        t0 = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), cwd=self.root, env=self.environment(), stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent)  # noqa: PLW1509 - only prctl, before exec
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                tail = self.log_tail()
                if f"Port {self.port} is not available" in tail or "Address already in use" in tail:
                    raise PortTaken(f"port {self.port} was taken before streamlit bound it:\n{tail}")
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{tail}")
            # health first (cheap when nobody answers), then whose socket answered: a server that another
            # process started on the same free port answers the health check too
            if health(self.url) == "ok" and listens_on(self.proc.pid, self.port):
                self.started_s = time.perf_counter() - t0
                return self
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"streamlit not healthy after {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def memory(self) -> dict[str, float]:
        """Peak (VmHWM) and current (VmRSS) resident memory of the server process, in MiB (the last values
        read while it ran, once it has stopped)."""
        if self.proc is not None and self.proc.poll() is None:
            status = proc_status(self.proc.pid)
            if status:
                self._last_status = status
        s = self._last_status
        return {"vm_hwm_mib": s.get("VmHWM", 0) / 1024, "vm_rss_mib": s.get("VmRSS", 0) / 1024}

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server has used so far, in seconds (None when it is not running)."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``); returns its exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            self.memory()  # keep the last reading
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
