"""``import latentexplorer`` gives the package's public face: every product's reader and writer, the
workspace, the power spectrum, both encoder-decoder runtimes and the age model — each imported on first use."""

import subprocess
import sys

import pytest

import latentexplorer as le


@pytest.mark.parametrize("name", le.__all__)
def test_every_public_name_resolves_to_what_its_module_defines(name):
    value = getattr(le, name)
    if name != "__version__":
        assert value.__module__.startswith("latentexplorer.") and value.__name__ == name


def test_each_product_has_a_reader_and_a_writer():
    readers = {n.removeprefix("read_") for n in le.__all__ if n.startswith("read_")}
    writers = {n.removeprefix("write_") for n in le.__all__ if n.startswith("write_")}
    assert readers == writers and {"psd_file", "pairs", "latent", "forest", "catalog", "orbits"} <= readers


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Wrokspace'"):
        le.Wrokspace  # noqa: B018


def _imported_after(statement: str) -> set[str]:
    code = (f"import sys\n{statement}\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_importing_the_package_imports_none_of_its_heavy_dependencies():
    assert not _imported_after("import latentexplorer") & {"tensorflow", "keras", "sklearn", "h5py", "astropy"}


def test_the_numpy_runtime_and_the_workspace_come_without_tensorflow():
    loaded = _imported_after("import latentexplorer as le\nle.InferenceEngine, le.Workspace, le.PowerSpectrum")
    assert not loaded & {"tensorflow", "keras"}
