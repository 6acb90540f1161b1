"""Dashboards as visitors meet them: page-ready cold and warm, kernel memory, and two load tests.

    python -m benchmarks.bench_dashboards WORKSPACE [--sessions 20] [--skip-load]
    python -m benchmarks.bench_dashboards WORKSPACE --memory [PER_DASHBOARD]
    python -m benchmarks.bench_dashboards WORKSPACE --arrivals [--visitors 30 --over 120 --stay 180 --seed 0]

Run against 127.0.0.1 only, in Debian's chromium (Playwright). For each dashboard:

- **cold**: a freshly started server (`latentexplorer serve` defaults: one preheated kernel per dashboard)
  asked for the page the moment it answers HTTP, before its pool is ready; the peer is the same page on a
  server without preheated kernels (``pool_size=0``: every page starts and runs its own kernel);
- **warm**: the same page once the pool is full;
- **kernel memory**: RSS and USS (memory unique to the process) of the page's kernel (on the server without
  pools, where it is the only one) once the page has drawn.

Load test: a server sized ``--workshop SESSIONS``, then SESSIONS concurrent browser sessions spread over the
four dashboards: page-ready p50/p95, failed sessions, total RSS of Voila and its kernels, and slider latency
(latent explorer pages: slider drag until the decoded PSD changes in the page) under that load.
``--memory``: on a server without pools, RSS, PSS and private memory (``/proc/PID/smaps_rollup``) of one page
kernel per dashboard once its page has drawn, and of Voila; then PER_DASHBOARD pages of each dashboard open at
once (40 kernels by default) and their PSS in all — the figures ``serve --workshop`` expects
(``latentexplorer.serve.KERNEL_PSS_MB``).

Arrivals (``--arrivals``, :mod:`benchmarks.workshop_arrivals`): a workshop as it arrives — VISITORS people over
OVER seconds (Poisson), two dashboards each, a slider moved or a star tapped every few seconds for STAY seconds,
against a server sized ``--workshop VISITORS``, driven by a client that speaks Voila's websocket protocol:
page-ready p50/p95, interaction round trips, failures, PSS of Voila and its kernels, CPU of server vs client.
Medians and percentiles are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import numpy as np
import psutil

from latentexplorer.serve import DASHBOARDS, DashboardServer, ServerSizing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
FIND_SOURCE = "name => Bokeh.documents.map(d => d.get_model_by_name(name)).find(m => m)"
READY_SOURCE = {"latent_explorer": "decoded_psd", "star_inspector": "inspector_reconstructed_psd",
                "jacobian_view": "jacobian", "disk_map": "age_distributions"}
TIMEOUT_MS = 180_000


def kernels_of(server: DashboardServer) -> list[psutil.Process]:
    """The server's kernels now (a child that exits while they are listed is left out)."""
    kernels = []
    for pid in server.kernel_pids():
        try:
            kernels.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    return kernels


def busy(process: psutil.Process) -> bool:
    """Whether ``process`` uses more than 5 % of a core over 0.2 s (one that has exited is not)."""
    try:
        return process.cpu_percent(interval=0.2) >= 5
    except psutil.Error:
        return False


def cpu_seconds(processes) -> float:
    """User + system CPU seconds used so far by ``processes`` (those gone count 0)."""
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def browser_processes() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name().lower()]


def wait_for_pool(server: DashboardServer, n: int, timeout: float = 600.0) -> float:
    """Seconds until ``n`` kernels run and are idle (the preheated pools full)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        kernels = kernels_of(server)
        if len(kernels) >= n and not any(busy(k) for k in kernels):
            return time.perf_counter() - start
        time.sleep(1)
    return float("nan")


async def open_page(browser, url: str, name: str) -> tuple[object, float]:
    """A new page (of a browser or browser context) on ``url``; seconds until its figures hold data."""
    page = await browser.new_page()
    await page.set_viewport_size({"width": 1300, "height": 1150})
    start = time.perf_counter()
    await page.goto(url, timeout=TIMEOUT_MS)
    await page.wait_for_function(f"() => {{ const m = window.Bokeh && ({FIND_SOURCE})('{READY_SOURCE[name]}');"
                                 " return m && Object.values(m.data).some(c => c.length > 0); }", timeout=TIMEOUT_MS)
    return page, time.perf_counter() - start


async def slider_latency(page) -> float:
    """Seconds from dragging the first latent slider until the decoded PSD in the page changes."""
    before = await page.evaluate(f"() => Array.from(({FIND_SOURCE})('decoded_psd').data.log_psd)")
    box = await page.locator(".noUi-handle").nth(0).bounding_box()
    start = time.perf_counter()
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2, steps=4)
    await page.mouse.up()
    await page.wait_for_function(
        f"before => {{ const d = Array.from(({FIND_SOURCE})('decoded_psd').data.log_psd);"
        " return d.some((v, i) => Math.abs(v - before[i]) > 1e-6); }", arg=before, timeout=TIMEOUT_MS)
    return time.perf_counter() - start


async def single_pages(workspace) -> None:
    from playwright.async_api import async_playwright

    print(f"{'dashboard':<16} {'cold s':>7} {'no-pool s':>9} {'ratio':>6} {'warm s':>7} {'RSS MB':>7} {'USS MB':>7}")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name in DASHBOARDS:
            times = {}
            for label, sizing in (("no-pool", ServerSizing(pool_size=0)), ("cold", ServerSizing())):
                with DashboardServer(workspace, port=0, sizing=sizing) as server:
                    server.wait_until_ready(120)
                    page, times[label] = await open_page(browser, server.url(name), name)
                    if label == "no-pool":  # the page's kernel is the server's only one
                        await asyncio.sleep(1)
                        memory = kernels_of(server)[0].memory_full_info()
                    await page.close()
                    if label == "cold":
                        wait_for_pool(server, len(DASHBOARDS) * sizing.pool_size + 1)
                        page, times["warm"] = await open_page(browser, server.url(name), name)
                        await page.close()
            print(f"{name:<16} {times['cold']:>7.1f} {times['no-pool']:>9.1f} {times['no-pool'] / times['cold']:>6.1f}"
                  f" {times['warm']:>7.1f} {memory.rss / 2**20:>7.0f} {memory.uss / 2**20:>7.0f}", flush=True)
        await browser.close()


async def load_test(workspace, sessions: int) -> None:
    from playwright.async_api import async_playwright

    sizing = ServerSizing.for_workshop(sessions)
    with DashboardServer(workspace, port=0, sizing=sizing) as server:
        server.wait_until_ready(120)
        fill = wait_for_pool(server, len(DASHBOARDS) * sizing.pool_size)
        print(f"\nload test: {sessions} concurrent sessions, server sized --workshop {sessions} "
              f"({sizing.pool_size} preheated kernels per dashboard, pools full after {fill:.0f} s)", flush=True)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            names = [DASHBOARDS[i % len(DASHBOARDS)] for i in range(sessions)]
            contexts = [await browser.new_context() for _ in names]  # one visitor each: no shared cache

            def server_processes():
                return [psutil.Process(server.process.pid), *kernels_of(server)]

            server_cpu, client_cpu = cpu_seconds(server_processes()), cpu_seconds(browser_processes())

            async def session(context, name):
                try:
                    return name, *(await open_page(context, server.url(name), name))
                except Exception as err:  # noqa: BLE001 - a failed session is a number here
                    return name, None, repr(err)[:120]

            results = await asyncio.gather(*(session(c, n) for c, n in zip(contexts, names)))
            server_cpu = cpu_seconds(server_processes()) - server_cpu
            client_cpu = cpu_seconds(browser_processes()) - client_cpu
            ready = [r[2] for r in results if r[1] is not None]
            failed = [r for r in results if r[1] is None]
            rss = sum(p.memory_info().rss for p in [psutil.Process(server.process.pid), *kernels_of(server)])
            latencies = []
            for name, page, _ in results:
                if page is not None and name == "latent_explorer":
                    try:
                        latencies.append(await slider_latency(page))
                    except Exception:  # noqa: BLE001
                        pass
            summary = (f"p50 {np.percentile(ready, 50):.1f} s, p95 {np.percentile(ready, 95):.1f} s, max "
                       f"{max(ready):.1f} s" if ready else "no page drawn")
            print(f"page ready: {summary}; failed sessions {len(failed)} of {sessions}"
                  + "".join(f"\n  failed {n}: {e}" for n, _, e in failed))
            print(f"CPU while the pages loaded: Voila and its kernels {server_cpu:.1f} s "
                  f"({server_cpu / sessions:.2f} s per page), the {sessions} headless browsers on the same cores "
                  f"{client_cpu:.1f} s ({client_cpu / sessions:.2f} s per page)")
            print(f"total RSS of Voila and its {len(kernels_of(server))} kernels: {rss / 2**30:.2f} GB "
                  f"({rss / 2**20 / max(len(kernels_of(server)), 1):.0f} MB per kernel)")
            if latencies:
                print(f"slider → decoded PSD under load: median {statistics.median(latencies) * 1e3:.0f} ms, "
                      f"max {max(latencies) * 1e3:.0f} ms ({len(latencies)} pages)")
            for context in contexts:
                await context.close()
            await browser.close()


def smaps_mb(pid: int) -> dict:
    """RSS, PSS and private (clean + dirty) memory of process ``pid`` in MB, from ``/proc/PID/smaps_rollup``."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            key, *value = line.split()
            if key in ("Rss:", "Pss:", "Private_Clean:", "Private_Dirty:"):
                fields[key[:-1]] = int(value[0]) / 1024
    return {"rss": fields["Rss"], "pss": fields["Pss"], "private": fields["Private_Clean"] + fields["Private_Dirty"]}


async def open_page_kernel(browser, server: DashboardServer, name: str) -> tuple[object, int]:
    """Open dashboard ``name`` in a new page of ``browser``; returns the page and the pid of the kernel it took
    (the server runs no preheated pool: the page's kernel is the one new kernel)."""
    before = set(server.kernel_pids())
    page, _ = await open_page(browser, server.url(name), name)
    await asyncio.sleep(1.0)
    new = set(server.kernel_pids()) - before
    if len(new) != 1:
        raise RuntimeError(f"{name}: expected one new kernel, found {sorted(new)}")
    return page, new.pop()


async def kernel_memory(workspace, per_dashboard: int) -> None:
    """Memory of the page kernels (``--memory``): one page per dashboard, then ``per_dashboard`` pages of each
    open at once; RSS, PSS and private memory of each kernel and of Voila (``/proc/PID/smaps_rollup``)."""
    from playwright.async_api import async_playwright

    n = per_dashboard * len(DASHBOARDS)
    sizing = ServerSizing(pool_size=0, cull_idle_s=3600, max_kernels=n + 4)
    with DashboardServer(workspace, port=0, sizing=sizing) as server:
        server.wait_until_ready(300)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages, kernels = [], {name: [] for name in DASHBOARDS}
            print(f"{'process':<26} {'RSS MB':>7} {'PSS MB':>7} {'private MB':>10}")
            for name in DASHBOARDS:  # one kernel per dashboard, measured once its page has drawn
                page, pid = await open_page_kernel(browser, server, name)
                pages.append(page)
                kernels[name].append(pid)
                m = smaps_mb(pid)
                print(f"{name + ' kernel':<26} {m['rss']:>7.0f} {m['pss']:>7.0f} {m['private']:>10.0f}", flush=True)
            m = smaps_mb(server.process.pid)
            print(f"{'Voila':<26} {m['rss']:>7.0f} {m['pss']:>7.0f} {m['private']:>10.0f}", flush=True)
            for _ in range(per_dashboard - 1):
                for name in DASHBOARDS:
                    page, pid = await open_page_kernel(browser, server, name)
                    pages.append(page)
                    kernels[name].append(pid)
            await asyncio.sleep(2.0)
            print(f"\n{n} page kernels open at once ({per_dashboard} per dashboard):")
            print(f"{'dashboard':<26} {'mean PSS MB':>11} {'mean private MB':>15}")
            total = 0.0
            for name, pids in kernels.items():
                memory = [smaps_mb(pid) for pid in pids]
                total += sum(m["pss"] for m in memory)
                print(f"{name:<26} {statistics.mean(m['pss'] for m in memory):>11.0f} "
                      f"{statistics.mean(m['private'] for m in memory):>15.0f}")
            voila = smaps_mb(server.process.pid)["pss"]
            print(f"total PSS of the {n} kernels: {total / 1024:.2f} GB; with Voila ({voila:.0f} MB): "
                  f"{(total + voila) / 1024:.2f} GB; 80 kernels at this mean: {80 * total / n / 1024:.1f} GB", flush=True)
            for page in pages:
                await page.close()
            await browser.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", help="a built workspace (e.g. from `latentexplorer demo --build-only`)")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions of the load test")
    parser.add_argument("--skip-load", action="store_true", help="only the single-page timings")
    parser.add_argument("--skip-pages", action="store_true", help="only the load test")
    parser.add_argument("--memory", type=int, nargs="?", const=10, default=None, metavar="PER_DASHBOARD",
                        help="only the page kernels' memory: one per dashboard, then PER_DASHBOARD (default 10) of "
                             "each open at once")
    arrivals = parser.add_argument_group("arrivals", "the workshop arrivals load test (only it runs)")
    arrivals.add_argument("--arrivals", action="store_true", help="run the arrivals load test")
    arrivals.add_argument("--visitors", type=int, default=30, help="visitors (and the server's --workshop)")
    arrivals.add_argument("--over", type=float, default=120.0, help="seconds over which they arrive")
    arrivals.add_argument("--stay", type=float, default=180.0, help="seconds each stays, moving things")
    arrivals.add_argument("--think", type=float, default=4.0, help="mean seconds between a visitor's moves")
    arrivals.add_argument("--seed", type=int, default=0, help="seed of arrivals, dashboards and moves")
    arrivals.add_argument("--min-free-gb", type=float, default=2.0,
                          help="stop the run when the machine has less memory available")
    args = parser.parse_args(argv)
    print(f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB")
    if args.memory is not None:
        asyncio.run(kernel_memory(args.workspace, args.memory))
        return
    if args.arrivals:
        from benchmarks import workshop_arrivals

        workshop_arrivals.run(args.workspace, args.visitors, args.over, args.stay, args.seed, args.think,
                              args.min_free_gb)
        return
    if not args.skip_pages:
        asyncio.run(single_pages(args.workspace))
    if not args.skip_load:
        asyncio.run(load_test(args.workspace, args.sessions))


if __name__ == "__main__":
    main()
