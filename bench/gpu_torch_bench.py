#!/usr/bin/python3
"""PyTorch baselines for scripts/gpu-check on a GPU: TaLK, LightConv and
DynamicConv's conv with given kernels (C = 512, H = 8, K = Lmax = Rmax = 31),
eager CUDA and torch.compile, at the
shapes of the convc GPU benchmark, and y = x + x over --copy-elements f32
(the bandwidth convc's copy kernel is held against). Median of
CUDA-event-timed runs after warm-up; inputs already on the device."""
import argparse

import torch

from convc_torch import ops

C, H, K, L = 512, 8, 31, 31
SHAPES = [(1, 10), (1, 100), (1, 1000), (1, 10000), (16, 256), (32, 4096)]


def time_cuda(fn, args, warmup, runs):
    for _ in range(warmup):
        fn(*args)
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn(*args)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--copy-elements", type=int, default=0)
    a = p.parse_args()
    dev = torch.device("cuda")
    talk = lambda x, o: ops.talk_conv(x, o, L, L, False)  # noqa: E731
    light = lambda x, w: ops.lightweight_conv(x, w, K // 2)  # noqa: E731
    dynamic = lambda x, z: ops.dynamic_kernel_conv(x, z, K // 2)  # noqa: E731
    eager = {"talk": talk, "lightconv": light, "dynamic": dynamic}
    compiled = {op: torch.compile(fn) for op, fn in eager.items()}
    second_input = {
        "talk": lambda B, T: torch.rand(B, T, 2 * H, device=dev),
        "lightconv": lambda B, T: torch.randn(H, K, device=dev),
        "dynamic": lambda B, T: torch.rand(B, T, H, K, device=dev) * (2 / K),
    }
    print(f"  {'case':22s} {'eager_ms':>12s} {'compile_ms':>12s}")
    with torch.no_grad():
        if a.copy_elements > 0:
            x = torch.randn(a.copy_elements, device=dev)
            e = time_cuda(lambda x: x + x, (x,), 3, a.runs)
            print(f"  {'copy.B1_T' + str(a.copy_elements):22s} {e:12.4f} {'n/a':>12s}")
            del x
        for op in ["lightconv", "talk", "dynamic"]:
            for B, T in SHAPES:
                x = torch.randn(B, T, C, device=dev)
                second = second_input[op](B, T)
                e = time_cuda(eager[op], (x, second), 3, a.runs)
                try:
                    c = time_cuda(compiled[op], (x, second), 3, a.runs)
                    c = f"{c:12.4f}"
                except Exception as ex:  # noqa: BLE001 - report and go on
                    c = f"{'failed':>12s}  ({type(ex).__name__})"
                print(f"  {op + '.B' + str(B) + '_T' + str(T):22s} {e:12.4f} {c}")


if __name__ == "__main__":
    main()
