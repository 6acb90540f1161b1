"""``environment.yml`` (conda) and ``requirements-lock.txt`` (pip, what CI installs) describe one environment:
every dependency the package declares is in both, and every range of environment.yml admits the locked version."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> set[str]:
    """The package's direct dependencies (pyproject: install and test), extras as packages of their own."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for line in project["dependencies"] + project["optional-dependencies"]["test"]:
        requirement = Requirement(line)
        names.add(canonicalize_name(requirement.name))
        names.update(canonicalize_name(extra) for extra in requirement.extras)  # dask[distributed]
    return names


def _environment() -> dict[str, Requirement]:
    """environment.yml's packages, conda and pip alike, by name."""
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    lines = [d for d in spec["dependencies"] if isinstance(d, str)]
    lines += [p for d in spec["dependencies"] if isinstance(d, dict) for p in d.get("pip", [])]
    return {canonicalize_name(r.name): r for r in map(Requirement, lines) if r.name not in ("python", "pip")}


def _locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", (ROOT / "requirements-lock.txt").read_text(), re.M)
    return {canonicalize_name(name): version for name, version in pins}


def test_every_declared_dependency_is_in_the_conda_environment():
    assert _declared() - set(_environment()) == set()


def test_the_conda_environment_holds_nothing_the_lock_does_not():
    assert set(_environment()) - set(_locked()) == set()


@pytest.mark.parametrize("name", sorted(_environment()))
def test_each_range_of_the_conda_environment_admits_the_locked_version(name):
    assert _environment()[name].specifier.contains(_locked()[name], prereleases=True)


def test_the_conda_environment_asks_for_the_python_ci_runs():
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python>=3.11" in spec["dependencies"]
