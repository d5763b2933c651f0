"""Device arrays from Python: CUDA modules take GPU memory (anything with
__cuda_array_interface__) and keep outputs on the GPU on request. Needs a
CUDA driver; ctest runs it against the fake libcuda.so.1 of test/gpu
(python_api_with_fake_driver), whose kernels do not run: the plumbing,
shapes and dtypes are checked here, the numbers by scripts/gpu-check."""
import os

import numpy as np
import pytest

import convc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(
    convc.cuda_status() != "",
    reason="needs a CUDA driver (ctest runs this with the fake one)")

MODEL = """
func.func @main(%x: tensor<?x4xf32> {convc.name = "x"}) -> tensor<?x4xf32> {
  %y = arith.addf %x, %x : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
"""


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    src = tmp_path_factory.mktemp("device") / "double.mlir"
    src.write_text(MODEL)
    cache = str(tmp_path_factory.mktemp("cache"))
    return (convc.Module(convc.compile(src, target="cuda", cache_dir=cache),
                         device="cuda"),
            convc.Module(convc.compile(src, cache_dir=cache)))


def test_outputs_stay_on_the_gpu_and_chain(modules):
    gpu, _ = modules
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    dx = convc.to_device(x)
    assert isinstance(dx, convc.DeviceArray)
    assert dx.shape == (3, 4) and dx.dtype == "f32"
    np.testing.assert_array_equal(dx.numpy(), x)  # the round trip
    face = dx.__cuda_array_interface__
    assert face["shape"] == (3, 4) and face["typestr"] == "<f4"
    assert face["version"] == 3 and face["data"][0] != 0

    y = gpu.run(x=dx, outputs_on="cuda")["output0"]
    assert isinstance(y, convc.DeviceArray) and y.shape == (3, 4)
    z = gpu.run(x=y, outputs_on="cuda")["output0"]  # fed as it is
    assert z.numpy().shape == (3, 4)
    host = gpu.run(x=dx)["output0"]  # host outputs by default
    assert isinstance(host, np.ndarray) and host.shape == (3, 4)


def test_foreign_gpu_memory_by_its_interface(modules):
    gpu, _ = modules
    dx = convc.to_device(np.ones((2, 4), np.float32))

    class Foreign:  # what a PyTorch CUDA tensor shows
        __cuda_array_interface__ = dx.__cuda_array_interface__

    assert gpu.run(x=Foreign(), outputs_on="cuda")["output0"].shape == (2, 4)

    class Strided:
        __cuda_array_interface__ = dict(dx.__cuda_array_interface__,
                                        shape=(4, 2), strides=(4, 16))

    with pytest.raises(ValueError, match="not C-contiguous"):
        gpu.run(x=Strided())

    class Wrong:
        __cuda_array_interface__ = dict(dx.__cuda_array_interface__,
                                        typestr="<f8")

    with pytest.raises(ValueError, match="GPU memory of type '<f8'"):
        gpu.run(x=Wrong())


def test_a_cpu_module_refuses_gpu_memory(modules):
    _, cpu = modules
    dx = convc.to_device(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="is a device tensor, but this module "
                                         "runs on the CPU"):
        cpu.run(x=dx)
    with pytest.raises(ValueError, match="outputs_on is 'cpu' or 'cuda'"):
        cpu.run(x=np.ones((2, 4), np.float32), outputs_on="gpu")
