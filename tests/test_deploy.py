"""The JupyterHub recipe of deploy/ (deploy/README.md): its build step run in a fresh virtualenv, each user's
Jupyter server it sets up serving the four dashboards under a hub's URL prefix, and the Dockerfile and Helm
values that use them. What needs Docker or Kubernetes (building the image, a running hub) is not run here."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from latentexplorer.demo import DEMO_SIZES
from latentexplorer.serve import DASHBOARDS, free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
#: The URL prefix JupyterHub gives a user's server.
USER_PREFIX = "/user/visitor/"
TOKEN = "test-deploy-token"


def dockerfile() -> list[tuple[str, str]]:
    """deploy/Dockerfile's instructions, (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    return [tuple(line.split(None, 1)) for line in map(str.strip, text.splitlines()) if line and line[0] != "#"]


def helm_values() -> dict:
    return yaml.safe_load((DEPLOY / "config.yaml").read_text())


def clean_environment(root: Path) -> dict:
    """The environment of a process in the fresh virtualenv: its bin/ first on PATH, then uv; no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join([str(root / "env" / "bin"), str(root / "uv"), "/usr/bin", "/bin"])
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A fresh virtualenv after ``deploy/build.sh PREFIX tiny`` (the image's build step; uv reuses its cache)."""
    if UV is None:
        pytest.skip("uv is not installed (the Makefile installs it)")
    root = tmp_path_factory.mktemp("hub")
    subprocess.run([sys.executable, "-m", "venv", str(root / "env")], check=True)
    (root / "uv").mkdir()
    (root / "uv" / "uv").symlink_to(UV)
    build = subprocess.run(["bash", str(DEPLOY / "build.sh"), str(root / "srv"), "tiny"], cwd=root,
                           env=clean_environment(root), capture_output=True, text=True, timeout=1200)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return root


def test_the_build_step_installs_the_locked_versions_and_builds_the_demo(built):
    python = built / "env" / "bin" / "python"
    report = subprocess.run([python, "-c", (
        "import json, latentexplorer\nfrom importlib.metadata import distributions\n"
        "print(json.dumps({'file': latentexplorer.__file__, "
        "'versions': {d.metadata['Name'].lower().replace('_', '-'): d.version for d in distributions()}}))")],
        cwd="/", env=clean_environment(built), check=True, capture_output=True, text=True).stdout
    report = json.loads(report)
    assert Path(report["file"]).is_relative_to(built / "env")  # installed, not this checkout
    pins = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)$", (REPO / "requirements-lock.txt").read_text(), re.M))
    installed = report["versions"]
    wrong = {name: (pins[name], version) for name, version in installed.items()
             if name in pins and pins[name] != version}
    assert not wrong, f"(locked, installed) differ: {wrong}"
    assert {"tensorflow", "voila", "jupyterlab", "astronn", "nifty-ls"} <= installed.keys()
    assert "pytest" not in installed  # the package and its dependencies, not the test extra
    srv = built / "srv"
    assert (srv / "demo" / "latent.h5").is_file() and (srv / "demo" / "catalog.fits").is_file()
    assert list((srv / "demo" / "columns").glob("*/manifest.json"))  # the column stores the kernels map
    assert sorted(p.stem for p in (srv / "dashboards").glob("*.ipynb")) == sorted(DASHBOARDS)
    settings = json.loads((built / "env" / "etc" / "jupyter" / "jupyter_server_config.json").read_text())
    assert settings["ServerApp"]["root_dir"] == str(srv / "dashboards")


def _get(url: str, timeout: float = 300) -> tuple[str, str]:
    """(final URL, page) of a GET with the user's token, redirects followed."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        assert response.status == 200, url
        return response.geturl(), response.read().decode()


def _column_stores(workspace: Path) -> dict[Path, int]:
    """The manifests of ``workspace``'s column stores and their modification times (ns)."""
    return {p: p.stat().st_mtime_ns for p in (workspace / "columns").glob("*/manifest.json")}


def test_a_users_server_serves_the_four_dashboards_under_the_hubs_prefix(built):
    # what jupyterhub-singleuser starts in the image: Jupyter's server with the settings the build wrote, the
    # hub's URL prefix and the Helm values' defaultUrl, the workspace the Dockerfile's ENV names
    workspace = dict(instruction[1].split("=", 1) for instruction in dockerfile() if instruction[0] == "ENV")
    env = clean_environment(built)
    env["LATENTEXPLORER_WORKSPACE"] = workspace["LATENTEXPLORER_WORKSPACE"].replace("/srv/latentexplorer",
                                                                                    str(built / "srv"))
    port = free_port()
    command = [built / "env" / "bin" / "python", "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--ServerApp.base_url={USER_PREFIX}",
               f"--ServerApp.default_url={helm_values()['singleuser']['defaultUrl']}",
               f"--IdentityProvider.token={TOKEN}"]
    if os.geteuid() == 0:  # a container of the tests runs as root; the image runs as jovyan
        command.append("--ServerApp.allow_root=True")
    server = subprocess.Popen(command, cwd=built, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}{USER_PREFIX}"
    made = _column_stores(built / "srv" / "demo")
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read()[-3000:]
            try:
                landed, _ = _get(base, timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, "the server did not answer within 120 s"
                time.sleep(0.5)
        assert landed == base + "voila/tree"  # the hub's default URL: the list of the dashboards,
        _, listing = _get(base + "voila/api/contents")  # which the tree page reads
        assert sorted(item["name"] for item in json.loads(listing)["content"]) == sorted(f"{name}.ipynb"
                                                                                          for name in DASHBOARDS)
        for name in DASHBOARDS:
            _, page = _get(f"{base}voila/render/{name}.ipynb")
            # the notebook ran in a kernel of the installed package, on the workspace, and left its widget
            assert "application/vnd.jupyter.widget-view+json" in page, name
            assert "There was an error" not in page and "Traceback" not in page, name
            assert "import latentexplorer" not in page, name  # no notebook source in the page
        # the kernels mapped the column stores made at build time; none rebuilt them
        assert _column_stores(built / "srv" / "demo") == made
    finally:
        server.terminate()
        server.wait(60)


def test_the_dockerfile_builds_from_docker_stacks_with_the_lock_and_the_build_step():
    instructions = dockerfile()
    base = next(arguments for instruction, arguments in instructions if instruction == "FROM")
    image, tag = base.split(":")
    assert image.startswith("quay.io/jupyter/")
    lock_python = re.search(r"--python-version (\d+\.\d+)", (REPO / "requirements-lock.txt").read_text())[1]
    assert tag == f"python-{lock_python}"
    copied = [shlex.split(arguments)[1:-1] for instruction, arguments in instructions if instruction == "COPY"]
    for sources in copied:
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    assert {"pyproject.toml", "requirements-lock.txt", "latentexplorer", "deploy/build.sh"} <= set(sum(copied, []))
    args = dict(arguments.split("=", 1) for instruction, arguments in instructions if instruction == "ARG")
    assert args["DEMO_SIZE"] in DEMO_SIZES
    build = next(arguments for instruction, arguments in instructions
                 if instruction == "RUN" and "deploy/build.sh" in arguments)
    prefix, size = shlex.split(build.split("deploy/build.sh", 1)[1])[:2]
    assert size == "${DEMO_SIZE}"
    env = dict(arguments.split("=", 1) for instruction, arguments in instructions if instruction == "ENV")
    assert env["LATENTEXPLORER_WORKSPACE"] == f"{prefix}/demo"  # where the build step puts the workspace


def test_the_helm_values_start_each_user_on_the_dashboards():
    values = helm_values()
    singleuser = values["singleuser"]
    assert singleuser["defaultUrl"] == "/voila/tree"
    assert singleuser["image"]["name"] and isinstance(singleuser["image"]["tag"], str)
    memory = {k: float(v.rstrip("G")) for k, v in singleuser["memory"].items()}
    assert 0 < memory["guarantee"] <= memory["limit"]
    assert singleuser["storage"]["type"] == "none"
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "dummy"
    assert values["cull"]["enabled"] is True
