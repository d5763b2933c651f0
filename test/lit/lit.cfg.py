# lit configuration for convc's FileCheck tests.
import os

import lit.formats

config.name = "convc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.convc_obj_root, "test", "lit")

# convc-opt and convc from the build, FileCheck and not from LLVM 22.
config.environment["PATH"] = os.pathsep.join(
    [config.convc_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")]
)
config.substitutions.append(("%convc_src", config.convc_src_root))
# Python for the helper scripts in tools/Inputs (the interpreter lit runs on).
import sys  # noqa: E402
config.substitutions.append(("%python", sys.executable))

# The official ONNX backend test models, when Debian's libonnx-testdata is in.
onnx_data = "/usr/share/libonnx-testdata/data/node"
if os.path.isdir(onnx_data) and config.convc_have_onnx:
    config.available_features.add("onnx")
config.substitutions.append(("%onnx_data", onnx_data))

# The CUDA toolkit (libdevice; ptxas) for the GPU target's code generation
# tests, and whether this machine has a CUDA driver (then the "CUDA
# unavailable" tests do not apply).
cuda_path = os.environ.get("CONVC_CUDA_PATH", "/usr/local/cuda")
if os.path.isfile(os.path.join(cuda_path, "nvvm/libdevice/libdevice.10.bc")):
    config.available_features.add("cuda-toolkit")
ptxas = os.path.join(cuda_path, "bin/ptxas")
if os.access(ptxas, os.X_OK):
    config.available_features.add("ptxas")
config.substitutions.append(("%ptxas", ptxas))
config.substitutions.append(("%cuda_path", cuda_path))
if not any(os.path.exists(os.path.join(d, "libcuda.so.1"))
           for d in ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib",
                     "/usr/local/nvidia/lib64"]):
    config.available_features.add("no-cuda-driver")

# A pseudo-terminal through util-linux's script(1), for the progress bars
# that only a terminal gets.
import subprocess  # noqa: E402
try:
    if subprocess.run(["script", "-qec", "true", "/dev/null"], capture_output=True,
                      timeout=10).returncode == 0:
        config.available_features.add("pty")
except (OSError, subprocess.TimeoutExpired):
    pass
