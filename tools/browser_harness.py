"""Real-browser harness: JupyterLab, Notebook 7 or Voilà on 127.0.0.1, driven by Debian's Chromium.

Used by the browser tests (``tests/browser/``), the screenshot tool (``tools/screenshots.py``) and
the latency benchmark (``benchmarks/bench_browser.py``)::

    with lab_server(folder) as server, chromium() as context:
        page = open_notebook(context, server, "02_planar_flows.ipynb")
        run_all(page)

Every server runs with a fresh token, a free port and throwaway Jupyter config / data / runtime /
IPython / lab-settings folders, so nothing of the user's set-up leaks in or out. The browser is
Debian's ``chromium`` launched through Playwright's ``executable_path`` (``playwright install``
is never needed). ``stop()`` ends every process the harness started (the server's process group
and the kernels it spawned in their own sessions), also when a test fails.

Waits in the page are on the DOM (locators, ``wait_for_function``), never on a clock.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CHROMIUM_ARGS",
    "ERROR_OUTPUT",
    "EXPLORERS",
    "HARMLESS_CONSOLE",
    "PREFERRED_SLIDER",
    "HarnessError",
    "Server",
    "SliderMove",
    "chromium",
    "chromium_path",
    "console_errors",
    "drawn_marks",
    "error_outputs",
    "explorer_state",
    "figure_pictures",
    "lab_server",
    "move_slider",
    "new_page",
    "open_notebook",
    "plot_area_colours",
    "run_all",
    "screen_share_of_palette",
    "voila_server",
    "wait_widgets_rendered",
    "write_notebook",
]

#: Flags for headless Chromium in containers (no sandbox as root, no GPU, no background traffic).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: Console messages that are not widget errors (matched as substrings, lower case):
#: a resource the page asked for and could not get is reported by Chromium as
#: "Failed to load resource" (Voilà's icon CSS from a CDN, favicons, a font); with no network
#: those fail here and change nothing on the page.
HARMLESS_CONSOLE = ("failed to load resource",)

_SERVER_TIMEOUT = 60.0  # s: JupyterLab is ready in < 8 s on this machine
PAGE_TIMEOUT_MS = 90_000  # a lesson's Run All on a loaded 2-core machine stays well below this


class HarnessError(RuntimeError):
    """The harness could not start or drive the server or the browser (message says why)."""


def chromium_path() -> str:
    """Path of the Chromium binary: ``$NFW_CHROMIUM``, else ``chromium`` on the PATH."""
    path = os.environ.get("NFW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise HarnessError(
            f"no Chromium at {path}: install Debian's package (`apt-get install -y chromium`, "
            "done by `bash scripts/test.sh`) or set NFW_CHROMIUM to a Chromium binary")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    """All descendants of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _kill_group(pid: int, sig: int) -> None:
    """Signal ``pid``'s process group (never the caller's own group)."""
    with suppress(ProcessLookupError, PermissionError):
        group = os.getpgid(pid)
        if group != os.getpgid(0):
            os.killpg(group, sig)


#: JupyterLab extensions the Voilà server does not load (see ``Server._command``).
VOILA_DENIED = ("@jupyter/nbgrader", "@jupyter-notebook/lab-extension")


@dataclass
class Server:
    """A JupyterLab (``kind="lab"``), Notebook 7 (``kind="notebook"``, see
    ``browser_notebook7.py``) or Voilà (``kind="voila"``) server serving ``root``.

    Use as a context manager (or call ``start`` / ``stop``). ``url(path)`` adds the token.
    """

    root: Path
    kind: str = "lab"
    port: int = 0
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    proc: subprocess.Popen | None = None
    tmp: Path | None = None
    log_path: Path | None = None
    _known: set[int] = field(default_factory=set)
    #: JupyterLab's notebook ``windowingMode``: "none" keeps every cell laid out and painted (the
    #: tests check every figure); "contentVisibility" is Lab's default, what learners have.
    windowing: str = "none"

    def url(self, path: str = "") -> str:
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}{sep}token={self.token}"

    def _command(self) -> list[str]:
        exe = [sys.executable, "-m"]
        if self.kind == "lab":
            root_flag = ["--allow-root"] if hasattr(os, "getuid") and os.getuid() == 0 else []
            return [*exe, "jupyterlab", "--no-browser", *root_flag,
                    "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                    "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                    "--LabApp.news_url=None", "--LabApp.check_for_updates_class="
                    "jupyterlab.NeverCheckForUpdate", f"--ServerApp.root_dir={self.root}"]
        if self.kind == "notebook":  # Notebook 7: one notebook per page, /notebooks/<name>
            root_flag = ["--allow-root"] if hasattr(os, "getuid") and os.getuid() == 0 else []
            return [*exe, "notebook", "--no-browser", *root_flag,
                    "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                    "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                    "--JupyterNotebookApp.expose_app_in_browser=True",
                    f"--ServerApp.root_dir={self.root}"]
        if self.kind == "voila":
            # The JupyterLab extensions of nbgrader (the grading extra) and of Notebook 7 cannot
            # start inside Voilà, which does not provide the JupyterLab modules they consume;
            # a Voilà page neither grades nor opens notebooks.
            return [*exe, "voila", "--no-browser", "--Voila.ip=127.0.0.1",
                    f"--port={self.port}", "--Voila.port_retries=0", f"--token={self.token}",
                    f"--VoilaConfiguration.extension_denylist={list(VOILA_DENIED)}",
                    str(self.root)]
        raise ValueError(f"kind must be 'lab', 'notebook' or 'voila'; got {self.kind!r}")

    def _env(self) -> dict[str, str]:
        assert self.tmp is not None
        env = dict(os.environ)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
                     "IPYTHONDIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
            env[name] = str(self.tmp / name.lower())
            Path(env[name]).mkdir(parents=True, exist_ok=True)
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        env.pop("JUPYTER_PATH", None)
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        env["PYTHONUNBUFFERED"] = "1"
        settings = Path(env["JUPYTERLAB_SETTINGS_DIR"])
        # By default every cell stays laid out (no virtual scrolling), so each figure can be
        # checked; no news or update toasts.
        _write_json(settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings",
                    {"windowingMode": self.windowing})
        _write_json(settings / "@jupyterlab" / "apputils-extension"
                    / "notification.jupyterlab-settings",
                    {"fetchNews": "false", "checkForUpdates": False})
        return env

    def start(self) -> Server:
        """Start the server and wait until it answers (``HarnessError`` with its log if not)."""
        self.tmp = Path(tempfile.mkdtemp(prefix=f"nfw-{self.kind}-"))
        self.log_path = self.tmp / "server.log"
        try:
            for attempt in range(3):
                self.port = _free_port()
                with open(self.log_path, "ab") as log:
                    self.proc = subprocess.Popen(
                        self._command(), cwd=self.root, env=self._env(), stdout=log,
                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                        start_new_session=True)
                if self._wait_ready():
                    return self
                self._terminate()
                if attempt == 2 or "address already in use" not in self.log().lower():
                    break
            raise HarnessError(f"{self.kind} server did not start; its log ends with:\n"
                               + self.log()[-3000:])
        except BaseException:  # also Ctrl-C while starting: leave nothing behind
            self.stop()
            raise

    def _wait_ready(self) -> bool:
        probe = self.url("" if self.kind == "voila" else "api/status")
        deadline = time.monotonic() + _SERVER_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(probe, timeout=5) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)  # polling a server that is starting: not a wait on the page
        return False

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Shut the server and every kernel it started down; then delete its folders."""
        try:
            self._terminate()
        finally:
            if self.tmp is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
                self.tmp = None

    def _terminate(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self._known |= _children(proc.pid)  # kernels live in their own sessions
        if proc.poll() is None:
            _kill_group(proc.pid, signal.SIGTERM)  # the server shuts its kernels down itself
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for pid in self._known:
            if Path(f"/proc/{pid}").exists():
                _kill_group(pid, signal.SIGKILL)
                with suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        self._known.clear()
        self.proc = None

    def api(self, method: str, path: str) -> object:
        """Call the server's REST API (JSON in the answer, or ``None``)."""
        request = urllib.request.Request(self.url(path), method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """End every notebook session (and its kernel) of this JupyterLab server."""
        self.remember_children()
        for session in self.api("GET", "api/sessions") or []:
            with suppress(urllib.error.HTTPError):
                self.api("DELETE", f"api/sessions/{session['id']}")

    def remember_children(self) -> None:
        """Record the server's current descendants (kernels), so ``stop`` can end them even if
        the server dies first."""
        if self.proc is not None:
            self._known |= _children(self.proc.pid)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@contextmanager
def lab_server(root: Path | str, *, windowing: str = "none") -> Iterator[Server]:
    """A JupyterLab server on ``root`` (a folder of notebooks), stopped on exit; ``windowing`` is
    the notebook's windowing mode ("none": every cell laid out; "contentVisibility": Lab's
    default)."""
    with Server(Path(root).resolve(), "lab", windowing=windowing) as server:
        yield server


@contextmanager
def voila_server(root: Path | str) -> Iterator[Server]:
    """A Voilà server on ``root``; notebooks are at ``/voila/render/<name>.ipynb``."""
    with Server(Path(root).resolve(), "voila") as server:
        yield server


@contextmanager
def chromium(viewport: tuple[int, int] = (1500, 1000), device_scale_factor: float = 1.0
             ) -> Iterator[object]:
    """A headless Chromium ``BrowserContext`` with a fresh profile, closed on exit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        raise HarnessError("Playwright is not installed: pip install -e '.[browser]' "
                           "(done by `bash scripts/test.sh`)") from err
    executable = chromium_path()
    profile = tempfile.mkdtemp(prefix="nfw-chromium-")
    pw = sync_playwright().start()
    context = None
    try:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
            device_scale_factor=device_scale_factor)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        yield context
    finally:
        try:
            if context is not None:
                context.close()
        finally:
            pw.stop()
            shutil.rmtree(profile, ignore_errors=True)


def _collect_console(page: object) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"console.{msg.type}: {msg.text}")
            if msg.type in ("error", "assert") else None)
    page.on("pageerror", lambda err: messages.append(f"pageerror: {err}"))
    page.nfw_console = messages
    return messages


def new_page(context: object) -> object:
    """A new tab that records console errors and uncaught exceptions (``console_errors``)."""
    page = context.new_page()
    _collect_console(page)
    return page


def console_errors(page: object, harmless: tuple[str, ...] = HARMLESS_CONSOLE) -> list[str]:
    """The console errors and uncaught page errors seen so far, minus the ``harmless`` ones."""
    return [m for m in getattr(page, "nfw_console", [])
            if not any(h in m.lower() for h in harmless)]


# --- JupyterLab --------------------------------------------------------------------------------
_KERNEL_IDLE_JS = """() => {
    const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
    if (!ind || ind.getAttribute('data-status') !== 'idle') return false;
    // Before a kernel exists the indicator says idle too; the status bar names the kernel.
    const items = [...document.querySelectorAll('.jp-StatusBar-TextItem')];
    return items.some(e => /^(?!No Kernel).+ [|] Idle$/.test(e.textContent.trim()));
}"""


def open_notebook(context: object, server: Server, name: str) -> object:
    """Open ``name`` (relative to the server's root) in JupyterLab; return the page once the
    kernel is connected and idle. Answers JupyterLab's "Select Kernel" dialog (button
    "Select") and dismisses a news toast if one shows."""
    page = new_page(context)
    # a workspace of its own: JupyterLab would otherwise reopen the notebooks of earlier pages
    page.goto(server.url(f"lab/workspaces/nfw-{secrets.token_hex(4)}/tree/{name}?reset"))
    dialog = page.locator(".jp-Dialog")
    state = page.wait_for_function(
        f"() => document.querySelector('.jp-Dialog') ? 'dialog' : ({_KERNEL_IDLE_JS})()",
        polling=100).json_value()
    if state == "dialog":  # "Select Kernel": take the one offered (the notebook's python3)
        # the button reads "Select"; its accessible name is "Select Kernel"
        dialog.locator("button.jp-mod-accept", has_text="Select").click()
        dialog.wait_for(state="detached")
        page.wait_for_function(_KERNEL_IDLE_JS, polling=100)
    toast = page.locator(".Toastify__toast")
    if toast.count():  # "Would you like to get notified about official Jupyter news?"
        for label in ("No", "Dismiss"):
            button = toast.get_by_role("button", name=label, exact=True)
            if button.count():
                button.first.click()
                break
    server.remember_children()
    return page


def run_all(page: object, tagged: list[int] | tuple[int, ...] = (),
            timeout_ms: int = PAGE_TIMEOUT_MS, idle_js: str = _KERNEL_IDLE_JS) -> None:
    """Run > Run All Cells, then wait until every code cell has run and the kernel is idle
    (``idle_js`` says when). Run All does not stop at a cell tagged ``raises-exception``
    (``tagged``: their indices, see ``browser_cells``); it stops at any other error, and then
    the wait ends there."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(
        f"""(tagged) => {{
            if (!({idle_js})()) return false;
            const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
            const ran = (cell) => {{
                const code = cell.querySelector('.jp-InputArea-editor .cm-content');
                const prompt = cell.querySelector('.jp-InputArea-prompt');
                return (code && code.textContent.trim() === '')
                    || /\\[\\d+\\]/.test(prompt ? prompt.textContent : '');
            }};
            const failed = cells.findIndex((cell, i) => !tagged.includes(i)
                && cell.querySelector('{ERROR_OUTPUT}'));
            const code = cells.filter(c => c.classList.contains('jp-CodeCell'));
            return failed >= 0 || code.every(ran);
        }}""", arg=list(tagged), timeout=timeout_ms, polling=200)


#: Outputs that mean a cell failed or wrote to stderr (tracebacks render as stderr too).
ERROR_OUTPUT = ('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], '
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')


def error_outputs(page: object) -> list[str]:
    """Text of every error / stderr output and of every widget that failed to display."""
    return page.evaluate(
        """(sel) => [
            ...[...document.querySelectorAll(sel)].map(e => e.innerText),
            ...[...document.querySelectorAll('.jp-OutputArea-output, .voila-output, body')]
                .filter(e => /Error displaying widget|Failed to (load|create) (model|view)/
                             .test(e.innerText || '') && !e.querySelector('.jp-OutputArea'))
                .map(e => 'widget: ' + e.innerText.slice(0, 500)),
        ]""", ERROR_OUTPUT)


# --- widgets on the page -----------------------------------------------------------------------
#: Containers of the explorers and the training dashboard (all publish a ``.nfw-frame``
#: counter and have a ``.nfw-figure-density``).
EXPLORERS = (".nfw-explorer, .nfw-change-of-variables, .nfw-training-dashboard, "
             ".nfw-sample-grid")
#: The slider to move in a widget whose first slider does not redraw (the dashboard's learning
#: rate only acts on the next training step); any other: its first visible slider.
#: (class of the widget → CSS selector of the control)
PREFERRED_SLIDER = {
    "nfw-training-dashboard": ".nfw-control-after_layer, .nfw-control-after-layer"}

_RENDERED_JS = """(min) => {
    const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
    if (outs.some(o => !o.childElementCount && !o.textContent)) return false;  // view to come
    const figs = [...document.querySelectorAll('.bqplot.figure')];
    if (figs.length < min) return false;
    if (!figs.every(f => f.querySelector('svg.svg-figure g'))) return false;
    // kernel-drawn pictures (bqplot Image marks) have arrived
    const images = [...document.querySelectorAll('.bqplot.figure svg.svg-figure image')];
    if (!images.every(i => (i.getAttribute('href') || '').length > 0)) return false;
    const explorers = [...document.querySelectorAll('EXPLORERS')];
    return explorers.every(e => e.querySelector('.nfw-frame[data-frame]'));
}""".replace("EXPLORERS", EXPLORERS)


def wait_widgets_rendered(page: object, min_figures: int = 0,
                          timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
    """Wait until every widget output has a view, at least ``min_figures`` bqplot figures are
    drawn, every Image mark has its picture and every explorer shows its frame counter."""
    page.wait_for_function(_RENDERED_JS, arg=min_figures, timeout=timeout_ms, polling=100)


#: A string that changes whenever an explorer's density picture changes: the ``href`` of its
#: bqplot Image mark (the picture's PNG as a data URL) or, for 1-D plots, the lines' paths.
_SIGNATURE_JS = """(root) => {
    const samples = root.querySelector('img.nfw-figure-samples');  // SampleGrid: a plain Image
    if (samples) return samples.getAttribute('src') || '';
    const fig = root.querySelector('.nfw-figure-density');
    if (!fig) return null;
    const svg = fig.querySelector('svg.svg-figure');
    return [...svg.querySelectorAll('image')].map(i => i.getAttribute('href') || '')
        .concat([...svg.querySelectorAll('path.line')].map(p => p.getAttribute('d') || ''))
        .join('|');
}"""

_FRAME_JS = """(root) => {
    const f = root.querySelector('.nfw-frame[data-frame]');
    return f ? Number(f.dataset.frame) : -1;
}"""

_PICK_SLIDER_JS = """([root, preferred]) => {
    for (const old of document.querySelectorAll('[data-nfw-pick]')) {
        old.removeAttribute('data-nfw-pick');
    }
    const wanted = Object.entries(preferred).filter(([k, v]) => root.classList.contains(k));
    const scope = wanted.length ? wanted[0][1] : '[class*="nfw-control-"]';
    // probe sliders move a probe point, not the flow: the density is not redrawn
    const handles = [...root.querySelectorAll(scope)]
        .flatMap(c => [...c.querySelectorAll('.noUi-handle')])
        .filter(h => !h.closest('[class*="nfw-control-probe"]') && h.offsetParent !== null);
    if (!handles.length) return null;
    const h = handles[0];
    h.setAttribute('data-nfw-pick', '1');
    const control = [...h.closest('[class*="nfw-control-"]').classList]
        .find(c => c.startsWith('nfw-control-'));
    const now = Number(h.getAttribute('aria-valuenow'));
    const max = Number(h.getAttribute('aria-valuemax'));
    return {control, now, max};
}"""


@dataclass
class SliderMove:
    """What one slider move did: the control, the frame counter and the density signature
    before and after."""

    control: str
    frame_before: int
    frame_after: int
    changed: bool
    message: str


def move_slider(page: object, explorer: object, timeout_ms: int = 30_000) -> SliderMove | None:
    """Move the explorer's first visible slider (not a probe; see ``PREFERRED_SLIDER``) one step
    with an arrow key on its handle, then wait until its frame counter increases and its
    density picture changes.

    Returns ``None`` when the explorer has no slider; raises Playwright's ``TimeoutError`` if
    the picture does not change (``explorer_state`` says what the widget shows)."""
    el = explorer.element_handle()
    pick = page.evaluate(_PICK_SLIDER_JS, [el, PREFERRED_SLIDER])
    if pick is None:
        return None
    frame0 = el.evaluate(_FRAME_JS)
    sig0 = el.evaluate(_SIGNATURE_JS)
    key = "ArrowLeft" if pick["now"] >= pick["max"] else "ArrowRight"
    explorer.locator("[data-nfw-pick]").press(key)
    page.wait_for_function(
        f"""([root, frame, sig]) => ({_FRAME_JS})(root) > frame
                                   && ({_SIGNATURE_JS})(root) !== sig""",
        arg=[el, frame0, sig0], timeout=timeout_ms, polling="raf")
    return SliderMove(pick["control"], frame0, el.evaluate(_FRAME_JS),
                      el.evaluate(_SIGNATURE_JS) != sig0, explorer_state(explorer))


_PICTURE_JS = """async (root, timeoutMs) => {
    // CRC-32 (IEEE), as Python's zlib.crc32, of the picture the density panel shows, compared
    // with the digest the kernel published with its last frame (data-picture)
    const table = new Uint32Array(256).map((_, n) => {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
        return c >>> 0;
    });
    const crc32 = (bytes) => {
        let c = 0xFFFFFFFF;
        for (const b of bytes) c = table[(c ^ b) & 0xFF] ^ (c >>> 8);
        return ((c ^ 0xFFFFFFFF) >>> 0).toString(16).padStart(8, '0');
    };
    const frame = () => new Promise(r => requestAnimationFrame(r));
    const start = performance.now();
    let want = null, got = null;
    while (performance.now() - start < timeoutMs) {
        const f = root.querySelector('.nfw-frame[data-picture]');
        const img = root.querySelector('.nfw-figure-density svg.svg-figure image');
        const plain = root.querySelector('img.nfw-figure-samples');  // SampleGrid's Image
        const url = img ? img.getAttribute('href') : plain ? plain.getAttribute('src') : null;
        want = f ? f.dataset.picture : null;
        if (want && url) {
            try {  // a data URL, or a blob URL (revoked once replaced: then try again)
                const r = await fetch(url);
                got = crc32(new Uint8Array(await r.arrayBuffer()));
                if (got === want) return {ok: true, want, got};
            } catch (e) { got = String(e); }
        }
        await frame();
    }
    return {ok: false, want, got};
}"""


def picture_is_current(explorer: object, timeout_ms: int = 30_000) -> dict:
    """Wait (frame by frame) until the density picture on screen is, byte for byte, the one
    the kernel sent with its last frame (the CRC-32 it publishes in ``data-picture``); returns
    ``{"ok": bool, "want": crc, "got": crc}``."""
    return explorer.evaluate(_PICTURE_JS, timeout_ms)


def burst(page: object, explorer: object, presses: int = 8) -> None:
    """Press an arrow key ``presses`` times in a row on the explorer's picked slider (see
    ``move_slider``, which picks it), without waiting in between: a burst of slider events."""
    handle = explorer.locator("[data-nfw-pick]")
    now = float(handle.get_attribute("aria-valuenow") or 0)
    top = float(handle.get_attribute("aria-valuemax") or 0)
    key = "ArrowLeft" if now >= top else "ArrowRight"
    for _ in range(presses):
        handle.press(key)


def explorer_state(explorer: object) -> str:
    """The explorer's frame counter and message area, as text (for failure messages)."""
    return explorer.element_handle().evaluate(
        """(root) => ['.nfw-frame', '.nfw-message', '.nfw-warning']
            .map(s => root.querySelector(s)).filter(Boolean)
            .map(e => e.innerText.trim()).filter(Boolean).join(' / ')""")


def _plot_area_screenshot(figure: object) -> object | None:
    """A screenshot (PIL RGB image) of a bqplot figure's plot area, axes excluded."""
    import io

    from PIL import Image

    area = figure.locator("rect.plotarea_background").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    if not box or box["width"] < 4 or box["height"] < 4:
        return None
    png = figure.page.screenshot(clip={"x": box["x"] + 1, "y": box["y"] + 1,
                                       "width": box["width"] - 2, "height": box["height"] - 2})
    return Image.open(io.BytesIO(png)).convert("RGB")


def _colour_counts(rgb: object) -> list[tuple[int, tuple[int, int, int]]]:
    return sorted(rgb.getcolors(maxcolors=rgb.width * rgb.height), reverse=True)


def drawn_marks(figure: object) -> int:
    """Number of drawn mark shapes in a bqplot figure (non-empty paths, dots, bars, pictures);
    0 for a figure with nothing to show yet (a loss plot before training)."""
    return figure.evaluate("""(f) => [...f.querySelectorAll('svg.svg-figure g *')].filter(e =>
        (e.tagName === 'path' && /[0-9]/.test(e.getAttribute('d') || ''))
        || ['circle', 'image', 'rect'].includes(e.tagName) && e.getAttribute('class') !==
           'plotarea_events').length""")


def plot_area_colours(figure: object) -> int:
    """Distinct colours in a screenshot of a bqplot figure's plot area (axes excluded): 1–3
    for an empty plot (background, grid lines), hundreds for a density picture."""
    rgb = _plot_area_screenshot(figure)
    return 0 if rgb is None else len(_colour_counts(rgb))


_PICTURES_JS = """async (fig) => {
    const area = fig.querySelector('rect.plotarea_background').getBoundingClientRect();
    return Promise.all([...fig.querySelectorAll('svg.svg-figure image')].map(async (i) => {
        const img = new Image();
        img.src = i.getAttribute('href');
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        const counts = new Map();
        for (let k = 0; k < px.length; k += 4) {
            const key = px[k] + ',' + px[k + 1] + ',' + px[k + 2];
            counts.set(key, (counts.get(key) || 0) + 1);
        }
        const r = i.getBoundingClientRect();
        const w = Math.min(r.right, area.right) - Math.max(r.left, area.left);
        const h = Math.min(r.bottom, area.bottom) - Math.max(r.top, area.top);
        return {width: img.naturalWidth, height: img.naturalHeight, colours: counts.size,
                palette: [...counts.keys()].map(k => k.split(',').map(Number)),
                cover: Math.max(0, w) * Math.max(0, h) / (area.width * area.height)};
    }));
}"""


def figure_pictures(figure: object) -> list[dict]:
    """For each bqplot Image mark of ``figure``: its decoded bitmap's ``width``, ``height``,
    number of ``colours`` and ``palette`` (the distinct RGB colours), and ``cover``, the
    fraction of the plot area its element covers on screen."""
    return figure.evaluate(_PICTURES_JS)


def screen_share_of_palette(figure: object, palette: list[list[int]]) -> float:
    """Fraction of the plot area's on-screen pixels whose colour is one of ``palette``'s
    (to within 4–7 levels per channel): about 1 when the picture is what the plot shows
    (overlays, seams and grid lines take the rest), about 0 for an empty plot."""
    import numpy as np

    rgb = _plot_area_screenshot(figure)
    if rgb is None or not palette:
        return 0.0
    table = np.zeros((66, 66, 66), bool)  # colours quantised to 4 levels, padded by one cell
    q = np.asarray(palette, dtype=np.int64) // 4 + 1
    for dr in (-1, 0, 1):
        for dg in (-1, 0, 1):
            for db in (-1, 0, 1):
                table[q[:, 0] + dr, q[:, 1] + dg, q[:, 2] + db] = True
    px = np.asarray(rgb, dtype=np.int64).reshape(-1, 3) // 4 + 1
    return float(table[px[:, 0], px[:, 1], px[:, 2]].mean())


# --- notebooks --------------------------------------------------------------------------------
def write_notebook(path: Path | str, cells: list[str]) -> Path:
    """Write a notebook of code cells (strings; a string starting with ``"%md"`` is a Markdown
    cell) with the ``python3`` kernelspec, so JupyterLab does not ask for a kernel."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    for k, src in enumerate(cells):
        cell = (nbformat.v4.new_markdown_cell(src[3:].lstrip()) if src.startswith("%md")
                else nbformat.v4.new_code_cell(src))
        cell.id = f"cell-{k}"
        nb.cells.append(cell)
    path = Path(path)
    nbformat.write(nb, path)
    return path
