"""A workshop load test that arrives as a workshop does (``bench_dashboards WORKSPACE --arrivals``).

Visitors arrive over ``over`` seconds as a Poisson process conditioned on their number (:func:`arrival_times`);
each opens two of the four dashboards (chosen at random), the second once the first is drawn, and for ``stay``
seconds from arriving moves a slider or taps a star on one of them every few seconds (exponential think time),
waiting for each answer before thinking again; then closes both pages as a browser does (the ``beforeunload``
beacon that frees the page's kernel). The server is ``latentexplorer serve --workshop VISITORS``.

The client is not a browser. One asyncio loop in this process speaks to Voila as a page's own code does: it GETs
the page and the static files the page names (not the bundles ``voila.js`` loads after them), opens the kernel's
websocket, asks for the widgets' state (``jupyter.widget.control`` / ``request_states``) and sends the comm
messages the widgets send: ipywidgets ``update`` of a slider's value, jupyter_bokeh's ``jsevent`` setting the
tapped star's ``Selection.indices``. Sixty headless pages in a browser would spend client CPU on parsing
BokehJS and drawing 20,000-point scatters on the same two cores (the old simultaneous load test's browsers used
94 % of its CPU); this client costs a small fraction of the server's, and both are reported.

- **page ready**: from the GET until the widget state holds the page's bokeh data source (``READY_SOURCE``)
  with data in it — the browser's criterion without its drawing;
- **interaction**: from the message until the whole bokeh patch that changes the dashboard's watched source
  has arrived; if the kernel goes idle having sent none (a move that changed nothing), the move is counted apart;
- **failures**: pages refused, errored or not ready in :data:`PAGE_TIMEOUT_S`; interactions unanswered in
  :data:`INTERACTION_TIMEOUT_S`;
- **memory**: PSS of Voila and all its kernels (``/proc/PID/smaps_rollup``) sampled every
  :data:`PSS_EVERY_S` seconds: peak and final; the run stops early (and says so) when the machine's available
  memory falls below ``min_free_gb``, before the kernel's OOM killer picks a process of someone else;
- **CPU**: user + system seconds of Voila and its kernels (each kernel's last sample counts once it has
  exited) against the client's own (this process, less the sampling thread, which is reported apart).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import aiohttp
import numpy as np
import psutil

from benchmarks.bench_dashboards import READY_SOURCE, kernels_of, wait_for_pool
from latentexplorer.serve import DASHBOARDS, DashboardServer, ServerSizing

PROTOCOL = "v1.kernel.websocket.jupyter.org"
PAGE_TIMEOUT_S = 120.0
INTERACTION_TIMEOUT_S = 60.0
PSS_EVERY_S = 5.0
GOALS = {"failures": 0, "page_ready_p95_s": 5.0, "interaction_p95_ms": 300.0}
#: The source each dashboard's interaction changes (the latent explorer's and the star inspector's are their
#: ``READY_SOURCE``; the Jacobian view redraws ``jacobian``, the disk map ends a refilter with ``age_distributions``).
WATCHED_SOURCE = {"latent_explorer": "decoded_psd", "star_inspector": "inspector_reconstructed_psd",
                  "jacobian_view": "jacobian", "disk_map": "age_distributions"}


@dataclass(frozen=True)
class Visitor:
    """One visitor: arrives at ``arrival`` seconds, opens ``dashboards`` in order; ``seed`` draws their moves."""

    arrival: float
    dashboards: tuple[str, str]
    seed: int


def arrival_times(visitors: int, over: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival times (s, increasing, in [0, over)) of ``visitors`` people arriving as a Poisson process of rate
    visitors/over given that exactly ``visitors`` arrive within ``over`` seconds: exponential gaps of mean
    over/visitors, scaled so that one more gap would end at ``over`` (the uniform order statistics)."""
    if visitors < 1 or over <= 0:
        raise ValueError(f"need at least one visitor over a positive time, got {visitors} over {over}")
    ends = np.cumsum(rng.exponential(over / visitors, visitors + 1))
    return ends[:-1] * (over / ends[-1])


def workshop_plan(visitors: int, over: float, seed: int = 0) -> list[Visitor]:
    """The seeded visitors: arrival times (:func:`arrival_times`) and two different dashboards each."""
    rng = np.random.default_rng(seed)
    times = arrival_times(visitors, over, rng)
    return [Visitor(float(t), tuple(DASHBOARDS[i] for i in rng.choice(len(DASHBOARDS), 2, replace=False)),
                    int(rng.integers(2**31))) for t in times]


def pack_v1(channel: str, parts: list[dict]) -> bytes:
    """A message in the kernel websocket protocol ``v1.kernel.websocket.jupyter.org`` (JupyterLab's, the Voila
    page's): the number of offsets and the offsets (8-byte little-endian), the channel, header, parent header,
    metadata and content as JSON."""
    blobs = [channel.encode(), *(json.dumps(part).encode() for part in parts)]
    offsets = [8 * (len(blobs) + 2)]
    for blob in blobs:
        offsets.append(offsets[-1] + len(blob))
    return b"".join([len(offsets).to_bytes(8, "little"), *(o.to_bytes(8, "little") for o in offsets), *blobs])


def unpack_v1(frame: bytes) -> tuple[dict, dict, dict]:
    """Header, parent header and content of a ``v1.kernel.websocket.jupyter.org`` message (buffers not read)."""
    count = int.from_bytes(frame[:8], "little")
    offsets = [int.from_bytes(frame[8 * (i + 1): 8 * (i + 2)], "little") for i in range(count)]
    header, parent, _, content = (json.loads(frame[offsets[i]: offsets[i + 1]]) for i in range(1, 5))
    return header, parent, content


def find_models(node, name: str | None = None):
    """Bokeh model objects (``{"type": "object", "id", "attributes"}``) in a docs_json tree, those named ``name``
    only when given."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "id" in node and (
                name is None or node.get("attributes", {}).get("name") == name):
            yield node
        for value in node.values():
            yield from find_models(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from find_models(value, name)


def column_length(value) -> int:
    """Rows of one serialized ColumnDataSource column (an ndarray or a list)."""
    if isinstance(value, dict) and value.get("type") == "ndarray":
        return int(np.prod(value.get("shape", [0])))
    return len(value) if isinstance(value, list) else 0


def source_rows(model: dict) -> int:
    """Rows of a serialized ColumnDataSource (its longest column; 0 when empty)."""
    data = model.get("attributes", {}).get("data", {})
    entries = data.get("entries", []) if isinstance(data, dict) else []
    return max((column_length(v) for _, v in entries), default=0)


class PageFailed(Exception):
    """A page that was refused, errored or not drawn in time."""


@dataclass
class Page:
    """One dashboard page spoken to over its kernel's websocket, as the page's widget manager does."""

    http: aiohttp.ClientSession
    base_url: str
    dashboard: str
    rng: np.random.Generator
    kernel_id: str = ""
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    states: dict = field(default_factory=dict)
    ws: aiohttp.ClientWebSocketResponse | None = None
    reader: asyncio.Task | None = None
    _idle: dict = field(default_factory=dict)  # msg_id → future resolved when the kernel is idle after it
    _states: asyncio.Future | None = None
    _patch: dict = field(default_factory=dict)  # comm id → [messages left in the patch, it names the watched id]
    _changed: asyncio.Future | None = None
    _watched: tuple[str, str] = ("", "")  # (BokehModel comm id, source id)

    async def _send(self, msg_type: str, content: dict, metadata: dict | None = None) -> asyncio.Future:
        """Send a shell message; the future resolves when the kernel goes idle after handling it."""
        header = {"msg_id": uuid.uuid4().hex, "username": "", "session": self.session, "msg_type": msg_type,
                  "version": "5.3", "date": datetime.now(timezone.utc).isoformat()}
        done = self._idle[header["msg_id"]] = asyncio.get_running_loop().create_future()
        await self.ws.send_bytes(pack_v1("shell", [header, {}, metadata or {}, content]))
        return done

    async def open(self) -> float:
        """GET the page and its static files, connect to its kernel; seconds until its watched data is there."""
        start = time.perf_counter()
        try:
            return await asyncio.wait_for(self._open(start), PAGE_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise PageFailed(f"not ready in {PAGE_TIMEOUT_S:.0f} s") from None
        except (aiohttp.ClientError, ConnectionError) as err:
            raise PageFailed(repr(err)[:160]) from None

    async def _open(self, start: float) -> float:
        async with self.http.get(f"{self.base_url}voila/render/{self.dashboard}.ipynb") as response:
            html = await response.text()
        if response.status != 200:
            text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
            raise PageFailed(f"HTTP {response.status}: {text[:160]}")
        if not (match := re.search(r'"kernelId":\s*"([0-9a-f-]+)"', html)):
            text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
            raise PageFailed(f"no kernel id in the page ({len(html)} characters, ending {text[-160:]!r})")
        self.kernel_id = match.group(1)
        for path in re.findall(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="(/[^"]+)"', html):
            async with self.http.get(self.base_url + path.lstrip("/")) as response:
                await response.read()
        self.ws = await self.http.ws_connect(
            f"{self.base_url.replace('http', 'ws', 1)}api/kernels/{self.kernel_id}/channels?session_id={self.session}",
            headers={"Origin": self.base_url.rstrip("/")}, protocols=[PROTOCOL], max_msg_size=0)
        loop = asyncio.get_running_loop()
        self._states = loop.create_future()
        self.reader = asyncio.create_task(self._read())
        await self._send("kernel_info_request", {})
        control = uuid.uuid4().hex
        await (await self._send("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}},
                                {"version": "1.0.0"}))
        await self._send("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
        self.states = await self._states
        ready = READY_SOURCE[self.dashboard]
        for _, doc in self.bokeh_documents():
            if any(source_rows(m) > 0 for m in find_models(doc, ready)):
                return time.perf_counter() - start
        raise PageFailed(f"the page holds no {ready!r} with data")

    def bokeh_documents(self):
        """(comm id, parsed render bundle) of each BokehModel widget of the page."""
        for comm_id, widget in self.states.items():
            if widget["model_name"] == "BokehModel":
                bundle = widget["state"]["render_bundle"]
                yield comm_id, json.loads(bundle) if isinstance(bundle, str) else bundle

    def widgets(self, model_name: str, description: str | None = None) -> list[tuple[str, dict]]:
        return [(comm_id, w["state"]) for comm_id, w in self.states.items() if w["model_name"] == model_name
                and (description is None or w["state"].get("description") == description)]

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.BINARY:
                break
            self._dispatch(*unpack_v1(frame.data))

    def _dispatch(self, header: dict, parent: dict, content: dict) -> None:
        kind = header["msg_type"]
        if kind == "status" and content.get("execution_state") == "idle":
            done = self._idle.pop(parent.get("msg_id"), None)
            if done is not None and not done.done():
                done.set_result(None)
        elif kind == "comm_msg":
            data = content.get("data", {})
            if data.get("method") == "update_states" and not self._states.done():
                self._states.set_result(data["states"])
            elif data.get("method") == "custom" and data.get("content", {}).get("msg") == "patch":
                self._patch_part(content["comm_id"], data["content"].get("payload"))

    def _patch_part(self, comm_id: str, payload) -> None:
        """One message of a bokeh PATCH-DOC: a header (with ``num_buffers``), metadata, content, then a header
        and a buffer per buffer. A patch whose content names the watched source resolves ``_changed`` when whole."""
        part = self._patch.get(comm_id)
        if part is None or part["left"] == 0:
            part = self._patch[comm_id] = {"left": 2 + 2 * int(json.loads(payload).get("num_buffers", 0)),
                                           "index": 0, "watched": False}
            return
        part["left"] -= 1
        part["index"] += 1
        if part["index"] == 2 and comm_id == self._watched[0]:
            part["watched"] = re.search(f'"id":\\s*"{self._watched[1]}"', payload) is not None
        if part["left"] == 0 and part["watched"] and self._changed is not None and not self._changed.done():
            self._changed.set_result(time.perf_counter())

    def _interaction(self) -> tuple[str, dict]:
        """The comm id and message data of one move: a latent slider, a star tapped, a ν_max range, a filter."""
        rng = self.rng
        if self.dashboard == "star_inspector":
            comm_id, doc = next(self.bokeh_documents())
            population = next(find_models(doc, "inspector_population"))
            selection = population["attributes"]["selected"]["id"]
            return comm_id, {"method": "custom", "content": {
                "event": "jsevent", "kind": "ModelChanged", "model": {"id": selection}, "attr": "indices",
                "new": [int(rng.integers(source_rows(population)))]}}
        if self.dashboard == "latent_explorer":
            sliders = self.widgets("FloatSliderModel")  # one per latent dimension
            comm_id, state = sliders[rng.integers(len(sliders))]
            value = rng.uniform(state["min"], state["max"])
        elif self.dashboard == "jacobian_view":
            comm_id, state = self.widgets("FloatRangeSliderModel")[0]
            width = rng.uniform(0.3, 1.0) * (state["max"] - state["min"])
            lo = rng.uniform(state["min"], state["max"] - width)
            value = [lo, lo + width]
        else:  # disk map: σ_age/age cut, alternately strict and loose so that the selection changes
            comm_id, state = self.widgets("FloatSliderModel", "σ_age/age <")[0]
            value = rng.uniform(0.1, 0.4) if state["value"] > 0.5 else rng.uniform(0.6, 1.5)
        state["value"] = value
        return comm_id, {"method": "update", "state": {"value": value}, "buffer_paths": []}

    async def interact(self) -> float | None:
        """Seconds from one move until the patch changing the watched source arrived; None if none came (the
        kernel went idle without one). Raises TimeoutError after :data:`INTERACTION_TIMEOUT_S`."""
        comm_id, data = self._interaction()
        bokeh_comm, doc = next(self.bokeh_documents())
        self._watched = (bokeh_comm, next(find_models(doc, WATCHED_SOURCE[self.dashboard]))["id"])
        self._changed = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        idle = await self._send("comm_msg", {"comm_id": comm_id, "data": data})
        await asyncio.wait_for(asyncio.wait([self._changed, idle], return_when=asyncio.FIRST_COMPLETED),
                               INTERACTION_TIMEOUT_S)
        if not self._changed.done():
            if not idle.done():
                raise TimeoutError
            return None
        return self._changed.result() - start

    async def close(self) -> None:
        """Leave the page: close the websocket and send the ``beforeunload`` beacon freeing the kernel."""
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
        if self.kernel_id:
            try:
                async with self.http.post(f"{self.base_url}voila/api/shutdown/{self.kernel_id}",
                                          data={"_xsrf": ""}) as response:
                    await response.read()
            except aiohttp.ClientError:
                pass


@dataclass
class Results:
    ready: list = field(default_factory=list)  # (dashboard, seconds)
    failed_pages: list = field(default_factory=list)  # (dashboard, why)
    interactions: list = field(default_factory=list)  # (dashboard, seconds)
    unchanged: int = 0
    timed_out: list = field(default_factory=list)  # dashboards
    client_errors: list = field(default_factory=list)  # (dashboard, error): the client's own, not the server's


async def visit(visitor: Visitor, base_url: str, start: float, stay: float, think: float, results: Results) -> None:
    """One visitor: arrive, open both pages one after the other, move things until ``stay`` is over, leave."""
    await asyncio.sleep(max(0.0, start + visitor.arrival - time.perf_counter()))
    rng = np.random.default_rng(visitor.seed)
    leave = start + visitor.arrival + stay
    async with aiohttp.ClientSession() as http:  # one visitor: no shared cache or cookies
        pages = []
        for name in visitor.dashboards:
            page = Page(http, base_url, name, rng)
            try:
                results.ready.append((name, await page.open()))
                pages.append(page)
            except PageFailed as err:
                results.failed_pages.append((name, str(err)))
                await page.close()
            except Exception as err:  # a bug of this client
                results.client_errors.append((name, repr(err)[:160]))
                await page.close()
        while pages and (pause := rng.exponential(think)) < leave - time.perf_counter():
            await asyncio.sleep(pause)
            page = pages[rng.integers(len(pages))]
            try:
                seconds = await page.interact()
            except (TimeoutError, asyncio.TimeoutError):
                results.timed_out.append(page.dashboard)
                continue
            except Exception as err:  # a bug of this client: counted and shown, the visitor goes on
                results.client_errors.append((page.dashboard, repr(err)[:160]))
                continue
            if seconds is None:
                results.unchanged += 1
            else:
                results.interactions.append((page.dashboard, seconds))
        await asyncio.sleep(max(0.0, leave - time.perf_counter()))
        for page in pages:
            await page.close()


class Sampler(threading.Thread):
    """Samples, every second, the CPU of Voila and its kernels and, every :data:`PSS_EVERY_S`, their PSS; stops
    the run (``low_memory``) when the machine's available memory falls below ``min_free`` bytes."""

    def __init__(self, server: DashboardServer, min_free: float):
        super().__init__(daemon=True)
        self.server, self.min_free = server, min_free
        self.cpu: dict[int, float] = {}  # pid → its CPU seconds at the last sample
        self.cpu_start = self.voila_start = 0.0
        self.pss: list[tuple[float, float, int]] = []  # (time, bytes, kernels)
        self.thread_cpu = 0.0
        self.stop_event = threading.Event()
        self.low_memory = threading.Event()

    def processes(self) -> list[psutil.Process]:
        return [psutil.Process(self.server.process.pid), *kernels_of(self.server)]

    def sample_cpu(self) -> None:
        for proc in self.processes():
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            self.cpu[proc.pid] = times.user + times.system

    def sample_pss(self) -> None:
        total, kernels = 0, 0
        for proc in self.processes():
            try:
                with open(f"/proc/{proc.pid}/smaps_rollup") as f:
                    total += next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
                kernels += proc.pid != self.server.process.pid
            except (OSError, StopIteration):
                continue
        self.pss.append((time.perf_counter(), total, kernels))

    def server_cpu(self) -> float:
        return sum(self.cpu.values()) - self.cpu_start

    def voila_cpu(self) -> float:
        """CPU seconds of the Voila process itself over the run (the rest of :meth:`server_cpu` is kernels')."""
        return self.cpu.get(self.server.process.pid, 0.0) - self.voila_start

    def run(self) -> None:
        self.sample_cpu()
        self.cpu_start, self.voila_start = sum(self.cpu.values()), self.cpu.get(self.server.process.pid, 0.0)
        last_pss = 0.0
        while not self.stop_event.wait(1.0):
            self.sample_cpu()
            if time.perf_counter() - last_pss >= PSS_EVERY_S:
                self.sample_pss()
                last_pss = time.perf_counter()
            if psutil.virtual_memory().available < self.min_free:
                self.low_memory.set()
        self.sample_cpu()
        self.sample_pss()
        self.thread_cpu = time.thread_time()


def percentile(values, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _by_dashboard(timings: list, noun: str, unit: str, scale: float, fmt: str) -> None:
    """Print count, p50 and p95 of ``timings`` ((dashboard, seconds) pairs) per dashboard, in ``unit``."""
    for name in DASHBOARDS:
        mine = [seconds * scale for dashboard, seconds in timings if dashboard == name]
        if mine:
            print(f"  {name:<16} {len(mine):>4} {noun}, p50 {percentile(mine, 50):{fmt}} {unit}, "
                  f"p95 {percentile(mine, 95):{fmt}} {unit}")


def report(results: Results, sampler: Sampler, client_cpu: float, pages: int, elapsed: float) -> None:
    ready = [s for _, s in results.ready]
    moves = [s for _, s in results.interactions]
    failures = len(results.failed_pages) + len(results.timed_out)
    print(f"pages: {len(ready)} of {pages} ready, p50 {percentile(ready, 50):.1f} s, p95 {percentile(ready, 95):.1f} s,"
          f" max {max(ready, default=float('nan')):.1f} s   (goal: p95 ≤ {GOALS['page_ready_p95_s']:.0f} s)")
    _by_dashboard(results.ready, "pages", "s", 1.0, ".1f")
    print(f"interactions: {len(moves)} answered, p50 {percentile(moves, 50) * 1e3:.0f} ms, p95 "
          f"{percentile(moves, 95) * 1e3:.0f} ms, max {max(moves, default=float('nan')) * 1e3:.0f} ms; "
          f"{results.unchanged} changed nothing   (goal: p95 ≤ {GOALS['interaction_p95_ms']:.0f} ms)")
    _by_dashboard(results.interactions, "moves", "ms", 1e3, ".0f")
    print(f"failures: {failures}   (goal: {GOALS['failures']}) — {len(results.failed_pages)} pages, "
          f"{len(results.timed_out)} interactions unanswered in {INTERACTION_TIMEOUT_S:.0f} s"
          + "".join(f"\n  page {name}: {why}" for name, why in results.failed_pages[:10])
          + (f"\n  … {len(results.failed_pages) - 10} more" if len(results.failed_pages) > 10 else ""))
    if results.client_errors:
        print(f"CLIENT ERRORS (this benchmark's own, the figures above are incomplete): {len(results.client_errors)}"
              + "".join(f"\n  {name}: {why}" for name, why in sorted(set(results.client_errors))[:10]))
    if sampler.pss:
        peak = max(sampler.pss, key=lambda s: s[1])
        final = sampler.pss[-1]
        print(f"PSS of Voila and its kernels: peak {peak[1] / 2**30:.1f} GB ({peak[2]} kernels), final "
              f"{final[1] / 2**30:.1f} GB ({final[2]} kernels)")
    server_cpu = sampler.server_cpu()
    print(f"CPU over {elapsed:.0f} s on {psutil.cpu_count()} cores: server (Voila + kernels) {server_cpu:.0f} s "
          f"({server_cpu / elapsed / psutil.cpu_count():.0%} of the machine; Voila itself "
          f"{sampler.voila_cpu():.0f} s), client {client_cpu:.1f} s ({client_cpu / max(server_cpu, 1e-9):.1%} of "
          f"the server's); sampling {sampler.thread_cpu:.1f} s")


async def drive(plan: list[Visitor], base_url: str, stay: float, think: float, results: Results,
                low_memory: threading.Event) -> None:
    start = time.perf_counter()
    tasks = [asyncio.create_task(visit(v, base_url, start, stay, think, results)) for v in plan]
    visits = asyncio.gather(*tasks)
    while not visits.done():
        if low_memory.is_set():
            visits.cancel()
            break
        await asyncio.sleep(1.0)
    await asyncio.gather(*tasks, return_exceptions=True)


def run(workspace, visitors: int = 30, over: float = 120.0, stay: float = 180.0, seed: int = 0, think: float = 4.0,
        min_free_gb: float = 2.0) -> None:
    """The arrivals load test, printed (nothing asserted)."""
    plan = workshop_plan(visitors, over, seed)
    sizing = ServerSizing.for_workshop(visitors)
    with DashboardServer(workspace, port=0, sizing=sizing) as server:
        server.wait_until_ready(120)
        fill = wait_for_pool(server, len(DASHBOARDS) * sizing.pool_size)
        print(f"\narrivals: {visitors} visitors over {over:.0f} s (Poisson, seed {seed}), two dashboards each, a move "
              f"every {think:.0f} s (mean) for {stay:.0f} s; server sized --workshop {visitors} ({sizing.pool_size} "
              f"preheated kernels per dashboard, pools full after {fill:.0f} s)", flush=True)
        sampler = Sampler(server, min_free_gb * 2**30)
        results = Results()
        me = psutil.Process()
        client_start, start = sum(me.cpu_times()[:2]), time.perf_counter()
        sampler.start()
        asyncio.run(drive(plan, server.base_url, stay, think, results, sampler.low_memory))
        elapsed = time.perf_counter() - start
        sampler.stop_event.set()
        sampler.join()
        client_cpu = sum(me.cpu_times()[:2]) - client_start - sampler.thread_cpu
        if sampler.low_memory.is_set():
            print(f"STOPPED after {elapsed:.0f} s: the machine had less than {min_free_gb:.1f} GB available")
        report(results, sampler, client_cpu, 2 * visitors, elapsed)
        if results.failed_pages:  # what the server said about them
            errors = [line for line in server.output().splitlines()
                      if re.search(r"\[E |ERROR|Traceback|Error:|Exception", line)]
            print(f"Voila's log: {len(errors)} error lines" + "".join(f"\n  {line[:200]}" for line in errors[:20]))
