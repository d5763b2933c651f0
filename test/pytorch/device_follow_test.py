"""convc_torch's ops make every tensor on their inputs' device, so the
PyTorch baselines run on a GPU (gpu_torch_bench.py failed for TaLK with a
CPU arange inside window_diff). Checked on the meta device, which any
CPU-made tensor mixed in makes fail."""
import sys

import torch

from convc_torch import ops


def main():
    failures = []
    x, o = torch.randn(2, 10, 16, device="meta"), torch.rand(2, 10, 8, device="meta")
    cases = {
        "talk_conv": lambda: ops.talk_conv(x, o, 3, 3, False),
        "talk_conv causal": lambda: ops.talk_conv(x, o[..., :4], 3, 0, True),
        "embed_tokens": lambda: ops.embed_tokens(
            torch.ones(2, 5, dtype=torch.long, device="meta"),
            torch.randn(20, 16, device="meta"), 1),
    }
    for name, fn in cases.items():
        try:
            y = fn()
            if y.device.type != "meta":
                failures.append(f"{name}: result on {y.device}")
        except Exception as e:  # noqa: BLE001  (a device mix raises)
            failures.append(f"{name}: {e}")
    for f in failures:
        print("FAIL", f)
    print(f"{len(cases) - len(failures)}/{len(cases)} ops follow their inputs' device")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
