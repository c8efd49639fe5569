"""Device faults found without a GPU (issue 17).

A student on Colab (CUDA) or a Mac (MPS) hits two kinds of fault that a CPU-only run never shows:

* **a tensor created on the wrong device**: ``torch.eye(3)`` inside a function whose inputs sit
  on the GPU makes a CPU tensor, and the next operation fails;
* **float64 on a device without it**: MPS has no float64, so ``x.double()`` on an MPS tensor fails.

Three detectors, each run on the CPU here:

1. ``fake_accelerator``: PyTorch's fake-tensor mode creates tensors on a "cuda" device with no GPU
   (shapes, dtypes and devices are propagated; nothing is computed), and a torch-function mode
   refuses float64 on any device other than the CPU (as MPS does). Every case below — public
   functions and one training step of each model family — runs there.
2. ``torch.set_default_device("meta")``: the same cases with real CPU inputs while the global
   default device is another one; a factory call that relies on the default lands on "meta" and the
   next operation with the inputs fails. No coursekit function may depend on the default device:
   inputs decide where work happens (some users call ``torch.set_default_device("cuda")``).
3. A static rule: no ``torch.eye/zeros/ones/arange/tensor/full/linspace/rand*/empty`` call without
   ``device=`` inside a function that takes tensors (annotated ``torch.Tensor``, or ``forward``).
   Deliberate CPU work says so on the line with a ``# cpu:`` comment and its reason.
"""

from __future__ import annotations

import ast
import contextlib
import pathlib

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# the harnesses
# ---------------------------------------------------------------------------------------------
class NoFloat64OffCPU(TorchFunctionMode):
    """Raise when an operation produces a float64 tensor anywhere but on the CPU (MPS has none)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.dtype == torch.float64 and t.device.type != "cpu":
                raise TypeError(
                    f"{getattr(func, '__name__', func)} made a float64 tensor on {t.device}: MPS has no "
                    "float64; compute in float64 on the CPU (x.cpu().double()) and move the result back"
                )
        return out


@contextlib.contextmanager
def fake_accelerator():
    """Fake "cuda" tensors on a machine with no GPU, float64 refused off the CPU."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True):  # module-level constants are real CPU tensors
        try:
            torch.empty(1, device="cuda")
        except RuntimeError as e:  # torch 2.3 initialises CUDA even for fake tensors
            pytest.skip(f"torch {torch.__version__} cannot make fake CUDA tensors without a driver ({e}); "
                        "the default-device and static tests still run")
        yield torch.device("cuda")


def _run_fake(case):
    with fake_accelerator() as dev:
        run = case(dev)
        with NoFloat64OffCPU():
            out = run()
    for t in _tensors(out):
        assert t.device.type == "cuda", f"a result came back on {t.device}, not on the inputs' device (cuda)"


def _run_default_elsewhere(case):
    run = case(torch.device("cpu"))
    torch.set_default_device("meta")
    try:
        out = run()
    finally:
        torch.set_default_device(None)
    for t in _tensors(out):
        assert t.device.type == "cpu", f"a result came back on {t.device}: it followed the default device"


def _tensors(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _tensors(o)]
    return []


# ---------------------------------------------------------------------------------------------
# the cases: case(dev) builds inputs (and models) on dev and returns the call to check
# ---------------------------------------------------------------------------------------------
def _img(dev, b=2, c=3, s=32):
    return torch.rand(b, c, s, s, device=dev)


def _autograd_runs_on(dev) -> bool:
    """The autograd engine needs a real CUDA context: on fake "cuda" only the forward pass runs
    (the backward pass and the optimiser step are checked by the default-device test on the CPU)."""
    return dev.type == "cpu" or torch.cuda.is_available()


def _train_step(model, inputs, loss_of):
    """Forward, loss, backward (the optimiser is PyTorch's: torch 2.3's Adam itself follows the
    default device); returns the loss and the gradients."""
    dev = inputs[0].device

    def run():
        loss = loss_of(model(*inputs))
        if not _autograd_runs_on(dev):
            return loss.detach()
        model.zero_grad(set_to_none=True)
        loss.backward()
        return [loss.detach()] + [p.grad for p in model.parameters() if p.grad is not None]

    return run


def _match_color(dev):
    from coursekit.models.style import match_color

    a, b = _img(dev, 1), _img(dev, 1)
    return lambda: match_color(a, b)


def _style_grams(dev):
    from coursekit.models.style import gram_matrix, guided_gram_matrix, style_loss

    f = torch.randn(2, 8, 16, 16, device=dev)
    m = torch.rand(1, 1, 32, 32, device=dev)
    return lambda: (gram_matrix(f), guided_gram_matrix(f, m), style_loss({"a": f}, {"a": gram_matrix(f[:1])}, {"a": 1.0}))


def _colour_controls(dev):
    from coursekit.models.style import luminance_yiq, preserve_luminance_colors

    a, b = _img(dev), _img(dev)
    return lambda: (luminance_yiq(a), preserve_luminance_colors(a, b))


def _imagemetrics(dev):
    from coursekit.metrics import image as im

    a, b = _img(dev), _img(dev)
    return lambda: (im.psnr(a, b), im.ssim(a, b), im.si_mse(a, b), im.lmse(a, b))


def _gaussian_stats(dev):
    from coursekit.metrics import gaussian_stats

    f = torch.randn(64, 8, device=dev)

    def run():  # the statistics are float64 on the CPU by design (documented); the check is the way there
        mu, sigma = gaussian_stats(f)
        assert mu.device.type == sigma.device.type == "cpu" and sigma.dtype == torch.float64
        return f

    return run


def _pca(dev):
    from coursekit.models.autoencoder import PCA

    x = _img(dev, 16, 1, 8)
    pca = PCA(4)
    return lambda: pca.fit(x)(x)


def _temporal(dev):
    from coursekit.models.style import video as temporal

    a, b = _img(dev), _img(dev)
    flow = torch.randn(2, 2, 32, 32, device=dev)
    return lambda: (temporal.warp(a, flow), temporal.consistency_mask(flow, -flow), temporal.temporal_loss(a, b, flow))


def _exposure_filters(dev):
    from coursekit import baselines
    from coursekit.data.exposure import random_degradation
    from coursekit.models import exposure

    img = _img(dev)
    d = {k: v.to(dev) for k, v in random_degradation(2, torch.Generator().manual_seed(0)).items()}
    return lambda: (exposure.degrade(img, d), baselines.grey_world(img), exposure.saturation(img, 0.5))


def _gan_losses(dev):
    from coursekit.losses import d_loss, g_loss, gradient_penalty

    real, fake = torch.randn(4, device=dev), torch.randn(4, device=dev)
    with dev:
        critic = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 1))
    xr, xf = _img(dev, 4, 3, 8), _img(dev, 4, 3, 8)
    return lambda: (
        [d_loss(real, fake, kind=k) for k in ("nonsaturating", "hinge", "lsgan", "wasserstein")],
        g_loss(fake, kind="hinge"),
        gradient_penalty(critic, xr, xf) if _autograd_runs_on(dev) else critic(xr),
    )


def _image_pool(dev):
    from coursekit.models.cyclegan import ImagePool

    pool = ImagePool(2, seed=0)
    x = _img(dev, 4)
    return lambda: [pool.query(x) for _ in range(3)]


def _stn(dev):
    from coursekit.nn.stn import SpatialTransformer, affine_grid

    theta = torch.randn(2, 2, 3, device=dev)
    with dev:
        net = SpatialTransformer(1, (28, 28))
    x = torch.rand(2, 1, 28, 28, device=dev)
    return lambda: (affine_grid(theta, (2, 1, 8, 8)), net(x))


def _model_steps():
    from coursekit.models import cyclegan, dcgan, denoise, pix2pix, progan, sagan, transformer_net
    from coursekit.nn.attention import NonLocalBlock, SelfAttention, SqueezeExcitation

    mean2 = lambda y: y.float().pow(2).mean()
    return {
        "dcgan": (lambda: dcgan.Generator(nz=16, ngf=8, image_size=32), lambda dev: (torch.randn(2, 16, device=dev),)),
        "sagan_g": (lambda: sagan.Generator(nz=16, ngf=8, image_size=32), lambda dev: (torch.randn(2, 16, device=dev),)),
        "sagan_d": (lambda: sagan.Discriminator(ndf=8, image_size=32), lambda dev: (_img(dev),)),
        "progan_g": (lambda: progan.Generator(latent_dim=16, max_resolution=16, fmap_base=64, fmap_max=16),
                     lambda dev: (torch.randn(4, 16, device=dev),)),
        "progan_d": (lambda: progan.Discriminator(max_resolution=16, fmap_base=64, fmap_max=16),
                     lambda dev: (_img(dev, 4, 3, 16),)),
        "pix2pix": (lambda: pix2pix.UNetGenerator(num_downs=5, ngf=8), lambda dev: (_img(dev),)),
        "cyclegan": (lambda: cyclegan.ResnetGenerator(ngf=8, n_blocks=2), lambda dev: (_img(dev),)),
        "dncnn": (lambda: denoise.DnCNN(depth=4, channels=8), lambda dev: (_img(dev, 2, 1, 16),)),
        "transformer_net": (lambda: transformer_net.TransformerNet(), lambda dev: (_img(dev, 1),)),
        "non_local": (lambda: NonLocalBlock(16), lambda dev: (torch.randn(2, 16, 8, 8, device=dev),)),
        "self_attention": (lambda: SelfAttention(16), lambda dev: (torch.randn(2, 16, 8, 8, device=dev),)),
        "squeeze_excitation": (lambda: SqueezeExcitation(16), lambda dev: (torch.randn(2, 16, 8, 8, device=dev),)),
    }, mean2


def _model_case(name):
    def case(dev):
        models, loss = _model_steps()
        build, inputs = models[name]
        with dev:  # built on the device (a fake module cannot be moved there)
            model = build()
        return _train_step(model, inputs(dev), loss)

    return case


CASES = {
    "match_color": _match_color,
    "style_grams": _style_grams,
    "colour_controls": _colour_controls,
    "imagemetrics": _imagemetrics,
    "gaussian_stats": _gaussian_stats,
    "pca": _pca,
    "temporal": _temporal,
    "exposure_filters": _exposure_filters,
    "gan_losses": _gan_losses,
    "image_pool": _image_pool,
    "stn": _stn,
    **{f"step_{n}": _model_case(n) for n in _model_steps()[0]},
}


@pytest.mark.parametrize("name", list(CASES))
def test_runs_on_a_second_device_without_float64(name):
    _run_fake(CASES[name])


@pytest.mark.parametrize("name", list(CASES))
def test_ignores_the_global_default_device(name):
    _run_default_elsewhere(CASES[name])


def test_the_harnesses_catch_both_faults():
    """The detectors themselves: a CPU factory beside device inputs, and float64 off the CPU."""

    def wrong_device(dev):
        x = torch.rand(3, 3, device=dev)
        return lambda: x + torch.eye(3)

    def float64_on_device(dev):
        x = torch.rand(3, device=dev)
        return lambda: x.double().sum()

    with pytest.raises(Exception, match="(?i)device"):
        _run_fake(wrong_device)
    with pytest.raises(TypeError, match="float64"):
        _run_fake(float64_on_device)
    with pytest.raises(Exception, match="(?i)meta|device"):
        _run_default_elsewhere(wrong_device)


# ---------------------------------------------------------------------------------------------
# the static rule
# ---------------------------------------------------------------------------------------------
FACTORIES = {"eye", "zeros", "ones", "arange", "tensor", "full", "linspace", "logspace", "randn", "rand",
             "randint", "randperm", "empty"}
# The exercise checks build their own inputs on the CPU and call the student's function with them.
STATIC_EXEMPT = ("coursekit/checks/",)


def _takes_tensors(fn: ast.FunctionDef) -> bool:
    args = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
    return fn.name == "forward" or any(
        a.annotation is not None and "Tensor" in ast.unparse(a.annotation) for a in args
    )


def factory_calls_without_device(source: str, filename: str = "<string>") -> list[str]:
    """``file:line function: call`` for each factory call that takes its device from the default."""
    tree = ast.parse(source)
    lines = source.splitlines()
    parent = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or not _takes_tensors(fn):
            continue
        for call in ast.walk(fn):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr in FACTORIES and isinstance(call.func.value, ast.Name)
                    and call.func.value.id == "torch"):
                continue
            # device= decides; a CPU generator= fixes the device to the CPU by itself
            if any(k.arg in ("device", "generator") for k in call.keywords):
                continue
            up = parent.get(call)
            if isinstance(up, ast.Attribute) and up.attr == "to":  # torch.tensor(...).to(x)
                continue
            if "# cpu:" in lines[call.lineno - 1]:
                continue
            found.append(f"{filename}:{call.lineno} {fn.name}: {ast.unparse(call)[:90]}")
    return sorted(set(found))


def test_static_rule_flags_a_factory_without_device():
    src = (
        "import torch\n"
        "def f(x: torch.Tensor):\n"
        "    a = torch.eye(3, dtype=x.dtype)\n"
        "    b = torch.zeros(3, device=x.device)\n"
        "    c = torch.tensor([1.0]).to(x)\n"
        "    d = torch.arange(4)  # cpu: an index for a CPU list\n"
        "    return a, b, c, d\n"
        "def g(n: int):\n"
        "    return torch.ones(n)\n"
    )
    assert factory_calls_without_device(src, "m.py") == ["m.py:3 f: torch.eye(3, dtype=x.dtype)"]


def test_no_factory_call_without_device_in_functions_that_take_tensors():
    found = []
    for path in sorted((ROOT / "coursekit").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(STATIC_EXEMPT):
            continue
        found += factory_calls_without_device(path.read_text(encoding="utf-8"), rel)
    assert not found, (
        "factory calls that follow the global default device instead of the inputs' device; pass "
        "device=x.device (or mark deliberate CPU work with '# cpu: why'):\n  " + "\n  ".join(found)
    )


def test_fake_cuda_really_is_a_second_device():
    """Guard the harness: on this machine the fake "cuda" tensors must not be CPU tensors in disguise."""
    with fake_accelerator() as dev:
        x = torch.ones(2, device=dev)
        assert x.device.type == "cuda"
        with pytest.raises(Exception, match="(?i)device"):
            _ = x + torch.ones(2)
    assert F.relu(torch.ones(1)).device.type == "cpu"
