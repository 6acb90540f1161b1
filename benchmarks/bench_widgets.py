"""Dashboard latency: server-side work per slider move and per Jacobian group, and page load in a browser.

    python -m benchmarks.bench_widgets WORKSPACE [--repeats 20] [--no-browser]

Per slider move (goal < 100 ms): the whole Python callback (decode + ν_max estimate + source updates),
with its parts measured separately; the peer is the decoder alone through Keras' ``model.predict``,
the plain way to run a Keras model. Per Jacobian group: a new (uncached) group of ``max_stars`` stars,
then the same group again (cached). Disk map: refiltering (three binned maps) and one orbit, and the
refilter work on a synthetic 300,000-star population. Page load: seconds from navigation until each dashboard's figures hold data, in Debian's chromium.
Medians of the repeats are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import latentexplorer.widgets as lw
from latentexplorer.seismo import estimate_global_parameters
from latentexplorer.workspace import Workspace


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def bench_slider(data, repeats: int) -> None:
    explorer = lw.LatentExplorer(data, seed=0)
    slider = explorer.sliders[0]
    values = iter(np.tile(np.linspace(slider.min, slider.max, 11), repeats + 1))
    move = median_ms(lambda: setattr(slider, "value", float(next(values))), repeats)
    z = explorer.z
    decode = median_ms(lambda: data.model.decode(z), repeats)
    log_psd = data.model.decode(z)[0]
    estimate = median_ms(lambda: estimate_global_parameters(data.frequency, log_psd), repeats)
    decoder = data.model.network_.get_layer("decoder")
    peer = median_ms(lambda: decoder.predict(z[None].astype(np.float32), verbose=0), repeats)
    print(f"slider move (whole callback): {move:8.1f} ms   (goal < 100 ms)")
    print(f"  decode one latent vector:   {decode:8.1f} ms   peer keras predict {peer:.1f} ms "
          f"(ratio {peer / decode:.1f}x)")
    print(f"  ν_max/Δν estimate:          {estimate:8.1f} ms")
    print(f"  snap to nearest star:       {median_ms(explorer.snap_to_nearest, repeats):8.1f} ms "
          f"({len(data)} stars)")


def bench_jacobian(data, max_stars: int) -> None:
    view = lw.JacobianView(data, max_stars=max_stars)
    lo, hi = view.numax_range.min, view.numax_range.max
    groups = [((lo, hi), "RGB"), ((lo, hi), "RC"), ((lo, 0.5 * (lo + hi)), "all")]
    first = []
    for numax_range, state in groups:
        start = time.perf_counter()
        _, _, n = view.group_jacobian(numax_range, state)
        first.append((time.perf_counter() - start, n))
    cached = median_ms(lambda: view.group_jacobian(*groups[0]), 5)
    per_group = np.median([t for t, _ in first]) * 1e3
    stars = np.median([n for _, n in first])
    print(f"Jacobian group (new):         {per_group:8.1f} ms   (~{stars:.0f} stars, "
          f"{per_group / max(stars, 1):.1f} ms/star); cached {cached:.2f} ms")
    switch = median_ms(lambda: setattr(view.dimension, "value", (view.dimension.value + 1) % data.latent.latent_dim), 5)
    print(f"  latent dimension switch:    {switch:8.1f} ms")


def bench_disk(data, repeats: int) -> None:
    try:
        disk = lw.DiskMap(data)
    except lw.MissingProduct as err:
        print(f"disk map skipped: {err}")
        return
    cuts = iter(np.tile([0.4, 3.0], repeats + 1))
    refilter = median_ms(lambda: setattr(disk.max_rel_err, "value", float(next(cuts))), repeats)
    row = disk.nearest_star(8.2, 0.0)
    orbit = median_ms(lambda: disk.show_orbit(row), max(3, repeats // 4))
    print(f"disk map refilter:            {refilter:8.1f} ms   ({len(data)} stars)")
    print(f"disk map click → orbit:       {orbit:8.1f} ms")


def bench_disk_at_scale(n: int, repeats: int) -> None:
    """The disk map's refilter work (quality cuts + the three binned maps) on a synthetic n-star population."""
    from latentexplorer import galaxy

    rng = np.random.default_rng(0)
    R, z, age = rng.uniform(3, 15, n), rng.normal(0, 0.5, n), rng.uniform(0.5, 12, n)
    feh, alpha, snr, flags = rng.normal(-0.1, 0.2, n), rng.normal(0.05, 0.07, n), rng.uniform(20, 300, n), np.zeros(n)

    def refilter():
        s = galaxy.quality_mask(age, 0.2 * age, flags, flags, snr)
        galaxy.rz_age_map(R[s], z[s], age[s])
        galaxy.abundance_age_map(feh[s], alpha[s], age[s])
        galaxy.age_distributions(R[s], age[s], feh[s], alpha[s])

    print(f"disk map refilter, {n:,} stars: {median_ms(refilter, max(3, repeats // 4)):8.1f} ms "
          "(synthetic population; the page receives fixed-size images)")


def bench_pages(workspace) -> None:
    from playwright.sync_api import sync_playwright

    from latentexplorer.serve import DASHBOARDS, DashboardServer

    ready = {"latent_explorer": "decoded_psd", "star_inspector": "inspector_reconstructed_psd",
             "jacobian_view": "jacobian", "disk_map": "age_distributions"}
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"]
    with DashboardServer(workspace, port=0) as server, sync_playwright() as p:
        start = time.perf_counter()
        server.wait_until_ready(120)
        print(f"voila ready:                  {time.perf_counter() - start:8.1f} s")
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        for name in DASHBOARDS:
            page = browser.new_page()
            start = time.perf_counter()
            page.goto(server.url(name), timeout=300_000)
            page.wait_for_function(
                f"() => {{ const m = window.Bokeh && Bokeh.documents.map(d => d.get_model_by_name('{ready[name]}'))"
                ".find(m => m); return m && Object.values(m.data).some(c => c.length > 0); }", timeout=300_000)
            print(f"page load {name:<19} {time.perf_counter() - start:8.1f} s")
            page.close()
        browser.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", help="a built workspace (e.g. from `latentexplorer demo --build-only`)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--max-stars", type=int, default=64, help="stars per Jacobian group (the dashboard's default)")
    parser.add_argument("--no-browser", action="store_true", help="skip the page-load timings")
    args = parser.parse_args(argv)
    data = Workspace(args.workspace)
    print(f"{data}")
    bench_slider(data, args.repeats)
    bench_jacobian(data, args.max_stars)
    bench_disk(data, args.repeats)
    bench_disk_at_scale(300_000, args.repeats)
    if not args.no_browser:
        bench_pages(args.workspace)


if __name__ == "__main__":
    main()
