"""Training-step benchmarks: coursekit against plain-PyTorch references, side by side.

    python benchmarks/run.py                 # every case, profile and reference sizes
    python benchmarks/run.py --cases dcgan dncnn --sizes profile --steps 5

For each case (a model's training step, or a style-transfer optimisation step) and each size,
the coursekit implementation and the reference (``benchmarks/reference.py``, no coursekit
import) run the *same* step function on the same inputs, each in a fresh subprocess, in
alternating order. Reported: images per second, peak memory (CUDA: ``max_memory_allocated``;
CPU: the peak resident-set growth of the process during the steps), and the ratios
coursekit / reference. On CUDA each case also runs with mixed precision (the course's autocast:
bf16 on Ampere and newer, fp16 below; the steps time no GradScaler) and with ``channels_last``.
Results go to ``build/benchmarks/`` (Markdown and JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# case -> size -> settings (the "profile" size is the cpu profile's, the "reference" size the paper's)
CASES = {
    "dcgan": {"profile": dict(batch=64, width=32, side=64), "reference": dict(batch=128, width=64, side=64)},
    "pix2pix": {"profile": dict(batch=16, width=32, side=64, downs=6), "reference": dict(batch=1, width=64, side=256, downs=8)},
    "cyclegan_generator": {"profile": dict(batch=4, width=32, side=64, blocks=6), "reference": dict(batch=1, width=64, side=256, blocks=9)},
    "dncnn": {"profile": dict(batch=64, width=32, side=40), "reference": dict(batch=128, width=64, side=40)},
    "transformer_net": {"profile": dict(batch=4, width=1, side=128), "reference": dict(batch=4, width=1, side=256)},
    "sagan_block": {"profile": dict(batch=32, width=128, side=16), "reference": dict(batch=64, width=256, side=32)},
    "style_step": {"profile": dict(batch=1, width=1, side=128), "reference": dict(batch=1, width=1, side=256)},
}


# ---------------------------------------------------------------------------------------------
# building each implementation (the only place the two sides differ)


def build(case: str, impl: str, s: dict):
    import torch
    from torch import nn

    ck = impl == "coursekit"
    if ck:
        from coursekit.models import cyclegan, dcgan, denoise, pix2pix, style, transformer_net
        from coursekit.nn.attention import SelfAttention
    else:
        import reference as R
    w = s["width"]
    if case == "dcgan":
        if ck:
            return {"G": dcgan.Generator(100, w, 3), "D": dcgan.Discriminator(3, w)}
        return {"G": R.DCGANGenerator(100, w, 3), "D": R.DCGANDiscriminator(3, w)}
    if case == "pix2pix":
        if ck:
            return {"G": pix2pix.UNetGenerator(3, 3, s["downs"], w), "D": pix2pix.PatchDiscriminator(6, w, 3)}
        return {"G": R.UnetGenerator(3, 3, s["downs"], w), "D": R.NLayerDiscriminator(6, w, 3)}
    if case == "cyclegan_generator":
        return {"G": cyclegan.ResnetGenerator(3, 3, w, s["blocks"]) if ck else R.ResnetGenerator(3, 3, w, s["blocks"])}
    if case == "dncnn":
        return {"G": denoise.DnCNN(17, w, 1) if ck else R.DnCNN(17, w, 1)}
    if case == "transformer_net":
        return {"G": transformer_net.TransformerNet() if ck else R.TransformerNet()}
    if case == "sagan_block":
        if ck:
            return {"G": SelfAttention(w, value_channels=w // 2, subsample=True, spectral_norm=True)}
        return {"G": R.SAGANAttention(w)}
    if case == "style_step":
        import torchvision

        vgg = torchvision.models.vgg19(weights=None)
        if ck:
            feats = style.VGGFeatures(model=vgg)
            return {"F": feats, "loss": style.PerceptualLoss(feats, torch.rand(1, 3, s["side"], s["side"]))}
        return {"F": R_style(vgg, nn)}
    raise ValueError(f"unknown case {case!r}")


def R_style(vgg, nn):
    """Reference style features: VGG-19 up to relu5_1, max-pools as average pools (Gatys et al.)."""
    layers = []
    for m in list(vgg.features)[:30]:
        layers.append(nn.AvgPool2d(2, 2) if isinstance(m, nn.MaxPool2d) else (nn.ReLU() if isinstance(m, nn.ReLU) else m))
    seq = nn.Sequential(*layers).requires_grad_(False).eval()
    return seq


# ---------------------------------------------------------------------------------------------
# one training step: identical code for both implementations


def make_step(case: str, impl: str, models: dict, s: dict, dev, amp: bool, channels_last: bool):
    import torch
    import torch.nn.functional as F

    b, side = s["batch"], s["side"]
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for m in models.values():
        m.to(dev, memory_format=fmt)
    from coursekit.train import autocast  # the course's policy: bf16 from compute capability 8.0, else fp16

    ctx = (lambda: autocast(dev)) if amp else (lambda: torch.autocast("cpu", enabled=False))

    def img(c, h=side):
        return torch.randn(b, c, h, h, device=dev).contiguous(memory_format=fmt)

    if case in ("dcgan", "pix2pix"):
        G, D = models["G"], models["D"]
        opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
        bce = F.binary_cross_entropy_with_logits

        def step():
            if case == "dcgan":
                real, cond = img(3).tanh(), None
                fake = G(torch.randn(b, 100, 1, 1, device=dev))
            else:
                cond, real = img(3), img(3).tanh()
                fake = G(cond)
            d_in = (lambda x: x) if cond is None else (lambda x: torch.cat([cond, x], 1))
            with ctx():
                lr_, lf = D(d_in(real)), D(d_in(fake.detach()))
                loss_d = bce(lr_, torch.ones_like(lr_)) + bce(lf, torch.zeros_like(lf))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            with ctx():
                lg = D(d_in(fake))
                loss_g = bce(lg, torch.ones_like(lg)) + (100 * F.l1_loss(fake, real) if cond is not None else 0)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

        return step
    if case == "style_step":
        x = torch.rand(1, 3, side, side, device=dev, requires_grad=True)
        content = torch.rand(1, 3, side, side, device=dev)
        opt = torch.optim.Adam([x], lr=0.02)
        if impl == "coursekit":
            loss_fn = models["loss"]
            with torch.no_grad():
                c_feats = models["F"](content)

            def compute():
                return loss_fn(x, c_feats)["loss"]
        else:
            seq = models["F"]
            style_idx, content_idx = [1, 6, 11, 20, 29], 22  # relu1_1 … relu5_1; relu4_2
            mean = torch.tensor([0.485, 0.456, 0.406], device=dev).view(1, 3, 1, 1)
            std = torch.tensor([0.229, 0.224, 0.225], device=dev).view(1, 3, 1, 1)

            def feats(t):
                out, h = {}, (t - mean) / std
                for i, m in enumerate(seq):
                    h = m(h)
                    if i in style_idx or i == content_idx:
                        out[i] = h
                return out

            def gram(f):
                _, c, hh, ww = f.shape
                f = f.reshape(c, hh * ww)
                return f @ f.T / (c * hh * ww)

            with torch.no_grad():
                style_t = {i: gram(f) for i, f in feats(torch.rand(1, 3, side, side, device=dev)).items() if i in style_idx}
                content_t = feats(content)[content_idx]

            def compute():
                f = feats(x)
                s_loss = sum(F.mse_loss(gram(f[i]), style_t[i]) for i in style_idx) / len(style_idx)
                return F.mse_loss(f[content_idx], content_t) + 10 * s_loss

        def step():
            with ctx():
                loss = compute()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        return step
    # single-network regression steps
    net = models["G"]
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    c = {"dncnn": 1, "sagan_block": s["width"]}.get(case, 3)

    def step():
        x, target = img(c), img(c)
        with ctx():
            loss = F.mse_loss(net(x), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(case: str, impl: str, size: str, mode: str, steps: int, warmup: int, min_seconds: float) -> dict:
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    torch.manual_seed(0)
    dev = torch.device("cuda" if torch.cuda.is_available() and os.environ.get("COURSEKIT_DEVICE") != "cpu" else "cpu")
    s = CASES[case][size]
    models = build(case, impl, s)
    step = make_step(case, impl, models, s, dev, amp="amp" in mode and dev.type == "cuda",
                     channels_last="cl" in mode)
    for _ in range(warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    rss0 = _rss_mb()
    n, t0 = 0, time.perf_counter()
    while n < steps or time.perf_counter() - t0 < min_seconds:
        step()
        n += 1
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if n >= 50 * steps:
            break
    seconds = time.perf_counter() - t0
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = max(0.0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0)
    return {"case": case, "impl": impl, "size": size, "mode": mode, "device": dev.type, "steps": n,
            "images_per_s": n * s["batch"] / seconds, "peak_mb": peak, "settings": s}


def device_name() -> str:
    import torch

    if torch.cuda.is_available() and os.environ.get("COURSEKIT_DEVICE") != "cpu":
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="*", default=list(CASES))
    p.add_argument("--sizes", nargs="*", default=["profile", "reference"])
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--min-seconds", type=float, default=3.0)
    p.add_argument("--out", default=str(ROOT / "build" / "benchmarks"))
    p.add_argument("--one", nargs=4, metavar=("CASE", "IMPL", "SIZE", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(*args.one, args.steps, args.warmup, args.min_seconds)))
        return 0

    import torch

    cuda = torch.cuda.is_available() and os.environ.get("COURSEKIT_DEVICE") != "cpu"
    modes = ["fp32", "amp", "amp+cl"] if cuda else ["fp32"]
    results = []
    for case in args.cases:
        for size in args.sizes:
            for mode in modes:
                pair = {}
                order = ["reference", "coursekit"] if len(results) % 2 == 0 else ["coursekit", "reference"]
                for impl in order:
                    cmd = [sys.executable, __file__, "--one", case, impl, size, mode, "--steps", str(args.steps),
                           "--warmup", str(args.warmup), "--min-seconds", str(args.min_seconds)]
                    out = subprocess.run(cmd, capture_output=True, text=True)
                    if out.returncode:
                        print(out.stderr[-2000:], file=sys.stderr)
                        raise SystemExit(f"benchmark {case}/{impl}/{size}/{mode} failed")
                    pair[impl] = json.loads(out.stdout.strip().splitlines()[-1])
                ratio = pair["coursekit"]["images_per_s"] / pair["reference"]["images_per_s"]
                mem = pair["coursekit"]["peak_mb"] / max(pair["reference"]["peak_mb"], 1e-9)
                row = {"case": case, "size": size, "mode": mode, "coursekit": pair["coursekit"],
                       "reference": pair["reference"], "speed_ratio": ratio, "memory_ratio": mem}
                results.append(row)
                print(f"{case:<20} {size:<9} {mode:<7} coursekit {pair['coursekit']['images_per_s']:9.1f} img/s "
                      f"reference {pair['reference']['images_per_s']:9.1f} img/s  ratio {ratio:5.2f}  "
                      f"memory {pair['coursekit']['peak_mb']:8.0f} / {pair['reference']['peak_mb']:8.0f} MB",
                      flush=True)
    write(results, Path(args.out), device_name())
    return 0


def write(results: list[dict], out: Path, device: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Benchmarks: coursekit vs reference implementations", "",
             f"Device: {device} · torch {__import__('torch').__version__} · {time.strftime('%Y-%m-%d %H:%M')}", "",
             "Training steps per case; images/s (higher is better) and peak memory (MB) of each side, "
             "measured in separate processes in alternating order. Target: speed ratio ≥ 0.95, memory "
             "ratio ≤ 1.", "",
             "| case | size | mode | coursekit img/s | reference img/s | speed ratio | coursekit MB | reference MB | memory ratio |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['case']} | {r['size']} | {r['mode']} | {r['coursekit']['images_per_s']:.1f} | "
                     f"{r['reference']['images_per_s']:.1f} | {r['speed_ratio']:.2f} | {r['coursekit']['peak_mb']:.0f} | "
                     f"{r['reference']['peak_mb']:.0f} | {r['memory_ratio']:.2f} |")
    (out / "benchmarks.md").write_text("\n".join(lines) + "\n")
    (out / "benchmarks.json").write_text(json.dumps({"device": device, "results": results}, indent=1))
    print(f"wrote {out / 'benchmarks.md'}")


if __name__ == "__main__":
    raise SystemExit(main())
