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

# The official ONNX backend test models, when Debian's libonnx-testdata is in.
onnx_data = "/usr/share/libonnx-testdata/data/node"
if os.path.isdir(onnx_data) and config.convc_have_onnx:
    config.available_features.add("onnx")
config.substitutions.append(("%onnx_data", onnx_data))
