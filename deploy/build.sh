#!/usr/bin/env bash
# The image's build step: deploy/Dockerfile runs it once at build time; tests/test_deploy.py runs it in a fresh
# virtualenv. Usage, from anywhere:
#
#   deploy/build.sh PREFIX [SIZE]
#
# Into the environment of the `python` first on PATH (the image's conda base, or an activated virtualenv):
#   1. installs latentexplorer with every dependency at the version of requirements-lock.txt (with uv, which pip
#      installs first if it is not on PATH);
#   2. builds the demo workspace once in PREFIX/demo: SIZE "demo" (200,000 stars, the default) or "tiny" (300),
#      with the column stores that every dashboard kernel memory-maps (what `latentexplorer serve` makes before
#      its kernels start; here no kernel has to);
#   3. copies the four dashboard notebooks into PREFIX/dashboards;
#   4. writes the Jupyter server's settings into ENV/etc/jupyter/jupyter_server_config.json (keeping any other
#      settings there): PREFIX/dashboards as the server's root (so /voila/tree lists the four dashboards), Voila
#      pages without notebook source or tracebacks, kernels left without a page shut down after 10 minutes idle.
# Each user's server then shows the dashboards at /user/NAME/voila/render/latent_explorer.ipynb and so on, the
# kernels reading the workspace that LATENTEXPLORER_WORKSPACE names (PREFIX/demo: the Dockerfile sets it).
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 PREFIX [demo|tiny]" >&2
  exit 2
fi
prefix=$1
size=${2:-demo}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
python=$(command -v python)

command -v uv >/dev/null || python -m pip install --quiet --no-cache-dir uv
uv pip install --quiet --compile-bytecode --python "$python" -c "$source_dir/requirements-lock.txt" "$source_dir"

python -m latentexplorer demo --build-only --size "$size" --workspace "$prefix/demo"
python -c 'import sys; from latentexplorer.widgets.star_view import prepare_columns; prepare_columns(sys.argv[1])' \
       "$prefix/demo"

mkdir -p "$prefix/dashboards"
cp "$(python -c 'from importlib.resources import files; print(files("latentexplorer") / "dashboards")')"/*.ipynb \
   "$prefix/dashboards/"

python - "$prefix" <<'PY'
import json, sys
from pathlib import Path

prefix = Path(sys.argv[1]).resolve()
settings = {
    "ServerApp": {"root_dir": str(prefix / "dashboards")},
    "VoilaConfiguration": {"strip_sources": True, "show_tracebacks": False,
                           "allow_template_override": "NO", "allow_theme_override": "NO"},
    "MappingKernelManager": {"cull_idle_timeout": 600, "cull_interval": 60, "cull_connected": False},
}
config = Path(sys.prefix, "etc", "jupyter", "jupyter_server_config.json")
merged = json.loads(config.read_text()) if config.exists() else {}
for section, values in settings.items():
    merged.setdefault(section, {}).update(values)
config.parent.mkdir(parents=True, exist_ok=True)
config.write_text(json.dumps(merged, indent=2) + "\n")
print(f"dashboards in {prefix / 'dashboards'}, workspace {prefix / 'demo'}, Jupyter settings {config}")
PY
