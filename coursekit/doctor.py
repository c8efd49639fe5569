"""``coursekit.doctor()``: what this machine has, and what to do about it."""

from __future__ import annotations

import os
import platform
import sys

__all__ = ["diagnose", "doctor", "mps_summary"]


def diagnose(check_network: bool = True, timeout: float = 2.0) -> dict[str, object]:
    """The facts ``doctor`` prints, as a dict (tested without printing)."""
    import torch
    import torchvision

    from . import __version__
    from .data.download import can_download
    from .runtime import cache_dir, device, profile

    facts: dict[str, object] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "coursekit": __version__,
        "colab": "google.colab" in sys.modules,
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    advice: list[str] = []
    try:
        dev = device()
        facts["device"] = dev.type
    except RuntimeError as e:
        facts["device"] = f"error: {e}"
        advice.append(str(e))
        dev = None
    if dev is not None and dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        facts["gpu"] = props.name
        facts["gpu_memory_gb"] = round(props.total_memory / 2**30, 1)
        facts["compute_capability"] = "{}.{}".format(*torch.cuda.get_device_capability(dev))
    if dev is not None:
        from .train import amp_policy

        facts["mixed_precision"] = amp_policy(dev).reason
    try:
        facts["profile"] = profile().name
    except ValueError as e:
        facts["profile"] = f"error: {e}"
        advice.append(str(e))
    facts["data_cache"] = str(cache_dir())
    # the host that serves torchvision weights and most course datasets
    facts["downloads_possible"] = (can_download("https://download.pytorch.org", timeout=timeout)
                                   if check_network else None)

    if dev is not None and dev.type == "cpu":
        hint = ("on Colab choose Runtime → Change runtime type → GPU" if facts["colab"]
                else "every notebook still runs, only smaller and slower")
        advice.append(f"no GPU: notebooks run on the CPU, in the cpu profile unless you choose another ({hint}).")
    if dev is not None and dev.type == "mps":
        advice.append(mps_summary(fallback=os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK") == "1"))
    if facts["downloads_possible"] is False:
        advice.append("offline: datasets and pretrained weights that are not cached are replaced by the "
                      "course's offline sources (each notebook says which).")
    if facts.get("profile") == "smoke":
        advice.append("the smoke profile is for CI: results are not meaningful; unset COURSEKIT_PROFILE.")
    facts["advice"] = advice
    return facts


def mps_summary(fallback: bool) -> str:
    """What a Mac student gets on Apple's GPU (MPS): said by ``doctor()``, tested without a Mac."""
    text = (
        "Apple GPU (MPS): models train on your Mac's GPU in float32 (no mixed precision there), in the "
        "cpu profile's sizes (the gpu profile assumes a CUDA card; set COURSEKIT_PROFILE=gpu to try it). "
        "MPS has no float64: the course computes its float64 statistics (colour matching, SSIM, PCA, "
        "Fréchet distance) on the CPU and moves the results back. "
    )
    if fallback:
        return text + "Operations MPS lacks fall back to the CPU (PYTORCH_ENABLE_MPS_FALLBACK=1 is set)."
    return text + (
        "An operation MPS lacks stops with NotImplementedError: start Jupyter with "
        "PYTORCH_ENABLE_MPS_FALLBACK=1 (`make lab` sets it) so such operations run on the CPU, or "
        "use COURSEKIT_DEVICE=cpu."
    )


def doctor(check_network: bool = True) -> dict[str, object]:
    """Print versions, device, profile, data cache, network, and concrete advice."""
    facts = diagnose(check_network=check_network)
    labels = {
        "python": "Python", "torch": "PyTorch", "torchvision": "torchvision", "coursekit": "coursekit",
        "device": "device", "gpu": "GPU", "gpu_memory_gb": "GPU memory (GB)",
        "compute_capability": "compute capability", "mixed_precision": "mixed precision", "cpu_cores": "CPU cores",
        "torch_threads": "torch threads", "profile": "profile", "data_cache": "data cache",
        "downloads_possible": "downloads possible", "colab": "on Colab",
    }
    print("coursekit doctor")
    for key, label in labels.items():
        if key in facts:
            print(f"  {label:<20} {facts[key]}")
    for line in facts["advice"]:  # type: ignore[union-attr]
        print(f"  → {line}")
    if not facts["advice"]:
        print("  → all good.")
    return facts
