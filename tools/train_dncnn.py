"""Train the blind DnCNN whose weights ship with the course (instructor tooling, never installed).

Notebook 1.7 trains its own small DnCNN for a few minutes and also evaluates this longer-trained
one, so a laptop can see what the method does with more training. The run uses the course's own
pieces only: the course's training photos (``coursekit.data.photos``, split ``"train"``: no crop of
a test photo), :class:`coursekit.models.denoise.DnCNN`, the loss
:func:`coursekit.models.denoise.blind_residual_loss` and the course's training loop
(:func:`coursekit.train.fit`). It is seeded and bounded by steps, not by the clock, and writes

* ``coursekit/weights/dncnn_blind.pt``: the network's ``state_dict`` (float32);
* ``coursekit/weights/dncnn_blind.json``: its SHA-256 and the run's provenance (architecture,
  seed, steps, data, command, torch version, date, machine, time taken, validation PSNR on crops of
  *training* photos).

Run from the repository root (the defaults are the shipped run)::

    OMP_NUM_THREADS=1 python -m tools.train_dncnn

It checkpoints every ``--chunk`` steps into ``--work`` and resumes from there when restarted with
the same arguments. On CPU the result depends slightly on the number of threads (the order of
floating-point sums), so a rerun gives close but not bit-identical weights; the loader checks the
file that ships, not a rerun.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "coursekit" / "weights"
SIGMAS_255 = (15, 25, 50)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--patch", type=int, default=40, help="training crop side (the paper: 40 for DnCNN-S, 50 for DnCNN-B)")
    p.add_argument("--crops", type=int, default=24000, help="training crops cut from the training photos")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=2800)
    p.add_argument("--lr", type=float, default=2e-3, help="peak Adam learning rate (cosine decay to 2%% of it)")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk", type=int, default=200, help="steps between checkpoints")
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    p.add_argument("--work", type=Path, default=ROOT / "data" / "cache" / "train_dncnn")
    p.add_argument("--out", type=Path, default=OUT_DIR)
    p.add_argument("--name", default="dncnn_blind")
    p.add_argument("--note", default="", help="recorded in the manifest (e.g. how the run was interrupted and resumed)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("COURSEKIT_PROFILE", "cpu")
    import coursekit
    from coursekit.data import photos
    from coursekit.data.download import sha256sum
    from coursekit.metrics import psnr
    from coursekit.models.denoise import DnCNN, augmented_blind_loss
    from coursekit.train import fit, warmup_cosine
    from coursekit.train.checkpoint import load_checkpoint, save_checkpoint

    coursekit.start(None, args.seed, quiet=True)
    torch.set_num_threads(args.threads)
    dev = torch.device("cpu")
    sigmas = torch.tensor(SIGMAS_255, dtype=torch.float32) / 255

    crops = photos.patches(args.crops, args.patch, split="train", seed=args.seed, gray=True)
    val = photos.patches(64, 64, split="train", seed=args.seed + 10_000, gray=True)  # training photos: no test peeking
    val_noisy = {s: val + s / 255 * torch.randn(val.shape, generator=torch.Generator().manual_seed(s)) for s in SIGMAS_255}
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(crops), batch_size=args.batch, shuffle=True,
                                         drop_last=True, generator=torch.Generator().manual_seed(args.seed))

    model = DnCNN(depth=args.depth, channels=args.channels, zero_init_last=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_cosine(step, args.steps, args.warmup))

    def loss_fn(net: torch.nn.Module, batch: tuple[torch.Tensor]) -> torch.Tensor:
        return augmented_blind_loss(net, batch, sigmas)

    def validate() -> dict[str, float]:
        model.eval()
        with torch.no_grad():
            return {str(s): round(float(psnr(model(y).clamp(0, 1), val)), 3) for s, y in val_noisy.items()}

    args.work.mkdir(parents=True, exist_ok=True)
    ckpt = args.work / f"{args.name}_seed{args.seed}.ckpt"
    log = args.work / f"{args.name}_seed{args.seed}.jsonl"
    step, seconds = 0, 0.0
    if ckpt.exists():
        state = load_checkpoint(ckpt, model=model, optimizer=optimizer)
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        step, seconds = int(state["step"]), float(state["seconds"])
        print(f"resumed from {ckpt} at step {step}", flush=True)

    while step < args.steps:
        n = min(args.chunk, args.steps - step)
        hist = fit(model, loader, loss_fn, optimizer=optimizer, scheduler=scheduler, max_steps=n,
                   max_seconds=math.inf, device=dev, amp=False, progress=False, desc="DnCNN")
        step += n
        seconds += hist.seconds
        v = validate()
        save_checkpoint(ckpt, model=model, optimizer=optimizer, scheduler=scheduler, step=step, seconds=seconds,
                        rng=torch.get_rng_state())
        entry = {"step": step, "seconds": round(seconds, 1), "loss": round(hist.last("loss", n), 6),
                 "lr": optimizer.param_groups[0]["lr"], "val_psnr": v}
        with open(log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        print(json.dumps(entry), flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / f"{args.name}.pt"
    torch.save({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, weights)
    manifest = {
        "file": weights.name,
        "sha256": sha256sum(weights),
        "bytes": weights.stat().st_size,
        "architecture": {"class": "coursekit.models.denoise.DnCNN", "depth": args.depth, "channels": args.channels,
                         "in_channels": 1, "zero_init_last": True,
                         "parameters": sum(p.numel() for p in model.parameters())},
        "training": {
            "seed": args.seed, "steps": args.steps, "batch": args.batch, "patch": args.patch, "crops": args.crops,
            "lr": args.lr, "warmup": args.warmup,
            "sigmas_255": list(SIGMAS_255), "noise": "one sigma per crop, uniform over sigmas_255; fresh noise every step",
            "loss": "coursekit.models.denoise.blind_residual_loss (Eq. 1) / pixels per crop",
            "optimizer": f"Adam, peak lr {args.lr}, {args.warmup} warm-up steps, cosine decay to 2% of the peak",
            "augmentation": "one of the 8 flips/rotations per batch",
            "data": {"source": "coursekit.data.photos, split 'train', grey (BT.601 luma)",
                     "photos": photos.names("train")},
            "loop": "coursekit.train.fit",
            "seconds": round(seconds, 1),
            "validation_psnr_db": {"crops": "64 crops 64x64 of training photos (seed + 10000)", **validate()},
            "curve": [{"step": e["step"], "seconds": e["seconds"], "val_psnr": e["val_psnr"]}
                      for e in map(json.loads, log.read_text().splitlines()) if e["step"] <= args.steps],
        },
        "command": "python -m tools.train_dncnn " + " ".join(sys.argv[1:] if argv is None else argv),
        "note": args.note,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores ({platform.processor() or 'cpu'}), "
                   f"{args.threads} torch threads, shared with other jobs",
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {weights} ({manifest['bytes']:,} bytes, sha256 {manifest['sha256']})")


if __name__ == "__main__":
    main()
