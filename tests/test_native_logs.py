"""TensorFlow's native start-up lines are kept off stderr; everything else passes untouched."""

import subprocess
import sys

SCRIPT = r"""
import os, sys
from latentexplorer.native_logs import filter_native_stderr
with filter_native_stderr():
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    os.write(2, b"I0000 00:00:1796116835.268453    3060 port.cc:153] oneDNN custom operations are on.\n")
    os.write(2, b"keep 1\n")
    os.write(2, b"E0000 00:00:1796117025.350397    3573 cuda_platform.cc:52] failed call to cuInit\n")
    os.write(2, b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow\n")
    os.write(2, b"bar 10%\rbar 20%\r")
    print("Infinite loop? no: a message", file=sys.stderr)
    os.write(2, b"E: a real error without newline")
print("|after", file=sys.stderr)
"""


def test_native_noise_is_dropped_and_the_rest_passes_byte_for_byte():
    err = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, timeout=60).stderr
    assert err == b"keep 1\nbar 10%\rbar 20%\rInfinite loop? no: a message\nE: a real error without newline|after\n"


def test_a_command_that_loads_tensorflow_prints_no_native_lines(tmp_path):
    script = "import sys; from latentexplorer.cli import main; sys.exit(main(['train', 'missing.h5', '-o', 'm']))"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [run.stderr.strip()]  # one line: the error, no start-up chatter
