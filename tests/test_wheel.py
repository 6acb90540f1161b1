"""The package as users install it: a wheel, in a fresh virtual environment, serving the four dashboards."""

import os
import shutil
import signal
import site
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

import pytest
from demo_workspace import tiny_workspace

from latentexplorer.serve import DASHBOARDS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, latentexplorer script, site-packages) of a fresh venv holding the wheel; the dependencies come
    from this environment through a .pth file, so nothing is downloaded but the build backend."""
    if UV is None:
        pytest.skip("uv is not installed (the Makefile installs it)")
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([UV, "build", "--wheel", "--out-dir", str(root / "dist"), str(REPO)], check=True,
                   capture_output=True)
    wheels = list((root / "dist").glob("latentexplorer-*.whl"))
    assert len(wheels) == 1
    venv.create(root / "env", with_pip=False)
    python = root / "env" / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([UV, "pip", "install", "--no-deps", "--python", str(python), str(wheels[0])], check=True,
                   capture_output=True)
    return python, root / "env" / "bin" / "latentexplorer", Path(purelib)


def test_the_wheel_holds_the_dashboards_and_notebooks(installed):
    python, _, purelib = installed
    where = subprocess.run([python, "-c", "import latentexplorer; print(latentexplorer.__file__)"], check=True,
                           capture_output=True, text=True, cwd="/").stdout.strip()
    assert Path(where).is_relative_to(purelib)  # the wheel, not this checkout
    package = purelib / "latentexplorer"
    assert sorted(p.stem for p in (package / "dashboards").glob("*.ipynb")) == sorted(DASHBOARDS)
    assert len(list((package / "notebooks").glob("*.ipynb"))) == 5


def test_the_installed_command_serves_the_four_dashboards(installed):
    _, script, _ = installed
    # the dependencies' data files (Voila's templates) are where this environment installed them
    env = dict(os.environ, JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"))
    proc = subprocess.Popen([script, "serve", str(tiny_workspace()), "--port", "0", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd="/", env=env)
    try:
        urls = {}
        for line in proc.stdout:
            words = line.split()
            if len(words) == 2 and words[0] in DASHBOARDS:
                urls[words[0]] = words[1]
            if len(urls) == len(DASHBOARDS):
                break
        assert len(urls) == len(DASHBOARDS), "serve did not print the four dashboards"
        for name, url in urls.items():
            with urllib.request.urlopen(url, timeout=300) as response:
                page = response.read().decode()
            # the notebook ran in a kernel of the installed package and left its widget in the page
            assert "application/vnd.jupyter.widget-view+json" in page, name
            assert "There was an error" not in page and "Traceback" not in page, name
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
