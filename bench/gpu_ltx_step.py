"""One denoising step of the full-size LTX-Video 2B transformer at 768x512x121, bf16, on a GPU.

Random weights (the architecture is what costs time, not the values). Reports the step time, the
FLOPs counted by torch's FlopCounterMode, and the achieved rate as a share of the GPU's dense bf16
peak. Needs a CUDA GPU; never part of `make bench` or CI:

    .venv/bin/python -m bench.gpu_ltx_step [--peak-tflops 989] [--steps 10]
"""

from __future__ import annotations

import argparse
import sys

# Dense bf16 peaks (TFLOP/s, no sparsity) of GPUs we have met; --peak-tflops overrides.
KNOWN_PEAKS = {"H100": 989.4, "H200": 989.4, "A100": 312.0, "L40S": 362.1, "RTX 4090": 165.2}
# LTX-Video 0.9.x 2B: 28 layers, 32 heads of 64, T5-XXL captions (4096) projected to 2048.
ARCHITECTURE = dict(
    in_channels=128,
    out_channels=128,
    patch_size=1,
    patch_size_t=1,
    num_attention_heads=32,
    attention_head_dim=64,
    cross_attention_dim=2048,
    num_layers=28,
    caption_channels=4096,
)
WIDTH, HEIGHT, FRAMES, TEXT_TOKENS = 768, 512, 121, 128
SPATIAL, TEMPORAL = 32, 8  # the LTX VAE's compression


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peak-tflops", type=float, default=0.0, help="the GPU's dense bf16 peak")
    parser.add_argument("--steps", type=int, default=10, help="timed steps after two warm-up steps")
    args = parser.parse_args(argv)

    import torch
    from diffusers import LTXVideoTransformer3DModel
    from torch.utils.flop_counter import FlopCounterMode

    if not torch.cuda.is_available():
        print("no CUDA GPU here: this benchmark needs one", file=sys.stderr)
        return 2
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    peak = args.peak_tflops or next((v for k, v in KNOWN_PEAKS.items() if k in name), 0.0)

    with torch.device(device):
        model = LTXVideoTransformer3DModel(**ARCHITECTURE).to(torch.bfloat16).eval()
    latent_frames, latent_h, latent_w = (FRAMES - 1) // TEMPORAL + 1, HEIGHT // SPATIAL, WIDTH // SPATIAL
    tokens = latent_frames * latent_h * latent_w
    inputs = dict(
        hidden_states=torch.randn(1, tokens, ARCHITECTURE["in_channels"], device=device, dtype=torch.bfloat16),
        encoder_hidden_states=torch.randn(
            1, TEXT_TOKENS, ARCHITECTURE["caption_channels"], device=device, dtype=torch.bfloat16
        ),
        timestep=torch.tensor([500.0], device=device),
        encoder_attention_mask=torch.ones(1, TEXT_TOKENS, device=device, dtype=torch.bool),
        num_frames=latent_frames,
        height=latent_h,
        width=latent_w,
        return_dict=False,
    )
    with torch.inference_mode():
        with FlopCounterMode(display=False) as counter:
            model(**inputs)
        flops = counter.get_total_flops()
        for _ in range(2):
            model(**inputs)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        for _ in range(args.steps):
            model(**inputs)
        end.record()
        torch.cuda.synchronize()
    seconds = start.elapsed_time(end) / 1000 / args.steps
    achieved = flops / seconds / 1e12
    params = sum(p.numel() for p in model.parameters()) / 1e9
    print(f"{name}: LTX-Video {params:.2f}B params, {WIDTH}x{HEIGHT}x{FRAMES} ({tokens} tokens), bf16")
    print(f"one step: {seconds * 1000:.1f} ms, {flops / 1e12:.1f} TFLOP, {achieved:.0f} TFLOP/s")
    if peak:
        print(f"share of the {peak:.0f} TFLOP/s bf16 peak: {achieved / peak:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
