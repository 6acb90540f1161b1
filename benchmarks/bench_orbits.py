"""Benchmark: orbit parameters (Lz, Staeckel actions, ecc, zmax, rguide) for 300,000 disk stars, where the
time goes, and one-star orbit integration for the dashboards. Goals: < 5 min on 2 cores; < 1 s.

Peers measured in the same run: galpy's Orbit API (``o.jr``/``o.jz``/``o.e``/``o.zmax`` with
``type='staeckel'`` and its automatic per-star δ, ``o.rguiding``) on a subset, and galpy's
``estimateDeltaStaeckel`` against the vectorised :func:`~latentexplorer.galaxy.staeckel_delta`.

Run: ``.venv/bin/python -m benchmarks.bench_orbits [--n-stars 300000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from galpy.actionAngle import actionAngleStaeckel, estimateDeltaStaeckel
from galpy.potential import MWPotential2014, evaluatePotentials, rl, vcirc

from latentexplorer.constants import R0_KPC
from latentexplorer.galaxy import galactocentric, heliocentric, integrate_orbit, orbit_parameters, staeckel_delta
from latentexplorer.galaxy.coordinates import VCIRC_KMS
from benchmarks.timing import median_time


def disk_stars(n, seed=0):
    """Observables (six arrays) of a warm disk: 3 < R < 15 kpc, σ_z = 0.6 kpc, σ_R = 35 km/s."""
    rng = np.random.default_rng(seed)
    R = rng.uniform(3.0, 15.0, n)
    vc = vcirc(MWPotential2014, R / R0_KPC) * VCIRC_KMS
    obs = heliocentric(R, rng.uniform(-0.6, 0.6, n), rng.normal(0.0, 0.6, n), rng.normal(0, 35, n),
                       vc - np.abs(rng.normal(0, 25, n)), rng.normal(0, 25, n))
    return [np.asarray(obs[c]) for c in obs.colnames]


def stage_times(obs, repeats):
    """Median seconds of each step of orbit_parameters on these stars (same calls, timed one by one)."""
    pot = MWPotential2014
    gc = galactocentric(*obs)
    R, z = np.asarray(gc["R"]) / R0_KPC, np.asarray(gc["z"]) / R0_KPC
    vR, vT, vz = (np.asarray(gc[c]) / VCIRC_KMS for c in ("vR", "vT", "vz"))
    delta = staeckel_delta(pot, R, z)
    staeckel = actionAngleStaeckel(pot=pot, delta=delta, c=True)
    args = (R, vR, vT, z, vz)
    with np.errstate(all="ignore"):
        return {
            "coordinates (astropy)": median_time(lambda: galactocentric(*obs), repeats),
            "energy (bound?)": median_time(lambda: evaluatePotentials(pot, R, z, use_physical=False), repeats),
            "Staeckel delta": median_time(lambda: staeckel_delta(pot, R, z), repeats),
            "actions Jr, Jz": median_time(lambda: staeckel(*args, delta=delta), repeats),
            "ecc, zmax": median_time(lambda: staeckel.EccZmaxRperiRap(*args, delta=delta), repeats),
            "rguide": median_time(lambda: rl(pot, R * vT, use_physical=False), repeats),
        }


def galpy_orbit_api(obs):
    """The same quantities through galpy's Orbit methods (the peer)."""
    from galpy.orbit import Orbit

    from latentexplorer.constants import ZSUN_KPC
    from latentexplorer.galaxy.coordinates import SOLAR_MOTION_UW_KMS, SOLAR_PECULIAR_V_KMS

    o = Orbit(np.stack(obs, axis=1), radec=True, ro=R0_KPC, vo=VCIRC_KMS, zo=ZSUN_KPC,
              solarmotion=[-SOLAR_MOTION_UW_KMS[0], SOLAR_PECULIAR_V_KMS, SOLAR_MOTION_UW_KMS[1]])
    pot = MWPotential2014
    with np.errstate(all="ignore"):
        return (o.Lz(), o.jr(pot=pot, type="staeckel"), o.jz(pot=pot, type="staeckel"),
                o.e(pot=pot, analytic=True, type="staeckel"), o.zmax(pot=pot, analytic=True, type="staeckel"),
                o.rguiding(pot=pot))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-stars", type=int, default=300_000, help="stars in the full run (default 300000)")
    parser.add_argument("--n-peer", type=int, default=3_000, help="stars for the galpy Orbit-API peer")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the smaller timings (median)")
    args = parser.parse_args(argv)

    obs = disk_stars(args.n_stars)
    start, start_cpu = time.perf_counter(), time.process_time()
    table = orbit_parameters(*obs)
    full, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(f"orbit_parameters, {args.n_stars} stars (1 run): {full:.1f} s wall, {cpu:.1f} s CPU "
          f"({1e6 * full / args.n_stars:.0f} µs/star wall); {int(np.count_nonzero(table['FLAG']))} flagged")

    n_stage = min(args.n_stars, 30_000)
    stages = stage_times([o[:n_stage] for o in obs], args.repeats)
    total = sum(stages.values())
    print(f"where the time goes ({n_stage} stars, median of {args.repeats}):")
    for name, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"  {name:24s} {seconds:7.3f} s  {100 * seconds / total:5.1f} %")

    peer_obs = [o[: args.n_peer] for o in obs]
    ours = median_time(lambda: orbit_parameters(*peer_obs), args.repeats)
    peer = median_time(lambda: galpy_orbit_api(peer_obs), args.repeats)
    print(f"{args.n_peer} stars: orbit_parameters {ours:.2f} s, galpy Orbit API {peer:.2f} s "
          f"(median of {args.repeats}); peer / ours = {peer / ours:.1f}×")

    gc = galactocentric(*peer_obs)
    R, z = np.asarray(gc["R"]) / R0_KPC, np.asarray(gc["z"]) / R0_KPC
    ours = median_time(lambda: staeckel_delta(MWPotential2014, R, z), args.repeats)
    peer = median_time(lambda: estimateDeltaStaeckel(MWPotential2014, R, z.copy(), no_median=True), args.repeats)
    print(f"Staeckel delta, {args.n_peer} stars: vectorised {ours:.3f} s, galpy estimateDeltaStaeckel "
          f"{peer:.2f} s; ratio {peer / ours:.0f}×")

    star = [o[0] for o in obs]
    one = median_time(lambda: integrate_orbit(*star, t_gyr=3.0, n_steps=3001), max(args.repeats, 5))
    track = integrate_orbit(*star, t_gyr=3.0, n_steps=3001)
    print(f"integrate_orbit, 3 Gyr, 3001 samples: {one * 1e3:.0f} ms (median of {max(args.repeats, 5)}); "
          f"max |ΔE/E| = {np.max(np.abs(track.energy / track.energy[0] - 1)):.1e}")


if __name__ == "__main__":
    main()
