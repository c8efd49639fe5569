"""Shortcuts do not pass: a student function that only calls coursekit's own implementation of an
exercise's answer, or the library function that does it in one call, fails that exercise's check.

Each cheater below is a real cheat: with the guards switched off it passes the check (asserted),
so the failure with the guards on is the mechanism's doing. The solution notebooks' own answers
still pass every check.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from _solutions import all_checks, exercises, solution_function
from torch import nn

from coursekit.analysis.complexity import count_params
from coursekit.checks import _core

CHECKS = all_checks()


def _call(path: str):
    """A function that forwards to ``path``, looked up when called (so it meets the guard)."""

    def forward(*args, **kwargs):
        owner, attr = _core._resolve(path)
        return getattr(owner, attr)(*args, **kwargs)

    return forward


def _mod(path: str):
    owner, attr = _core._resolve(path)
    return getattr(owner, attr)


# Cheaters whose arguments differ from the course function's: each only calls the declared name.
def _conv_params(c_in, c_out, k, bias):
    return count_params(nn.Conv2d(c_in, c_out, k, bias=bias))


def _count_macs(c_in, c_out, k, h, w):
    conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
    return _mod("coursekit.analysis.complexity.count_macs")(conv, (1, c_in, h, w))


def _grouped_conv_macs(c_in, c_out, k, h, w):
    return _mod("coursekit.nn.grouped.grouped_conv_macs")(c_in, c_out, k, h, w, groups=1)


def _pixel_norm(x):
    return _mod("coursekit.models.progan.PixelNorm")()(x)


def _dilate_by_transposed_conv(w, d):
    c_out, c_in, k, _ = w.shape
    spread = F.conv_transpose2d(w.reshape(-1, 1, k, k), torch.ones(1, 1, 1, 1), stride=d)
    return spread.reshape(c_out, c_in, *spread.shape[-2:])


def _dense_block(x, layers):
    block = _mod("coursekit.nn.dense.DenseBlock")(num_layers=1, in_channels=x.shape[1], growth_rate=1)
    block.layers = nn.ModuleList(layers)
    return block(x)


def _siamese(h1, h2, alpha, bias):
    net_class = _mod("coursekit.models.siamese.SiameseNet")
    net = net_class.__new__(net_class)
    nn.Module.__init__(net)
    net.head = nn.Linear(len(alpha), 1)
    with torch.no_grad():
        net.head.weight.copy_(alpha[None])
        net.head.bias.copy_(bias.reshape(1))
    return torch.sigmoid(net.score(h1, h2))


def _unet_forward(crop):
    """1.4's U-Net forward pass, cropping the skips with ``crop(maps, [h, w])``."""

    def forward(net, x):
        saved = []
        for block in net.down:
            x = block(x)
            saved.append(x)
            x = net.pool(x)
        x = net.bottom(x)
        for up, block, skip in zip(net.up, net.decode, reversed(saved)):
            x = up(x)
            if net.skips:
                x = torch.cat([crop(skip, list(x.shape[-2:])), x], 1)
            x = block(x)
        return net.head(x)

    return forward


def _tv_center_crop(x, size):
    return _mod("torchvision.transforms.functional.center_crop")(x, size)


class _SEInside(nn.Module):
    """An SE "block" that only holds coursekit's layer (its fc1 and fc2 are that layer's)."""

    def __init__(self, channels, reduction):
        super().__init__()
        self.inner = _mod("coursekit.nn.attention.SqueezeExcitation")(channels, reduction)
        self.fc1, self.fc2 = self.inner.fc1, self.inner.fc2

    def forward(self, x):
        return self.inner(x)


class _SEGateInside(_SEInside):
    def forward(self, x):
        return x * _mod("coursekit.nn.attention.SqueezeExcitation").gate(self.inner, x)[:, :, None, None]


class _SAGANInside(nn.Module):
    """A SAGAN layer that only holds coursekit's (f, g, h, v are that layer's key, query, value, out)."""

    def __init__(self, channels):
        super().__init__()
        self.inner = _mod("coursekit.nn.attention.SelfAttention")(channels)
        self.f, self.g, self.h, self.v = self.inner.key, self.inner.query, self.inner.value, self.inner.out
        self.gamma = self.inner.gamma

    def forward(self, x):
        return self.inner(x)


class _SAGANWith(_SAGANInside):
    """The same projections, attended by a library function (``path``) with SAGAN's scale 1."""

    path = ""

    def forward(self, x):
        b, _, hh, ww = x.shape
        q, k, v = (t(x).flatten(2).transpose(1, 2) for t in (self.g, self.f, self.h))
        o = _mod(self.path)(q, k, v, scale=1.0)
        o = (o[0] if isinstance(o, tuple) else o).transpose(1, 2).reshape(b, -1, hh, ww)
        return self.gamma * self.v(o) + x


class _SAGANWithDPA(_SAGANWith):
    path = "coursekit.nn.attention.dot_product_attention"


class _SAGANWithSDPA(_SAGANWith):
    path = "torch.nn.functional.scaled_dot_product_attention"


def _pix2pix(logits, fake, target, lam):
    loss = _mod("coursekit.models.pix2pix.generator_loss")
    return loss(lambda pair: logits, fake[:, :0], fake, target, lam)["loss"]


def _flop_counter_macs(model, x):
    counter = _mod("torch.utils.flop_counter.FlopCounterMode")(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() // 2 // x.shape[0]


CHEATERS = {
    ("check_conv_params", "torch.nn.Conv2d.__init__"): _conv_params,
    ("check_conv_macs", "torch.nn.Conv2d.__init__"): _count_macs,
    ("check_grouped_params", "torch.nn.Conv2d.__init__"): lambda ci, co, k, g: nn.Conv2d(
        ci, co, k, groups=g, bias=False
    ).weight.numel(),
    ("check_grouped_conv", "torch.nn.functional.conv2d"): lambda x, w, g: F.conv2d(x, w, padding=1, groups=g),
    ("check_grouped_conv", "torch.convolution"): lambda x, w, g: torch.convolution(
        x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], g
    ),
    ("check_affine_grid", "torch.nn.functional.affine_grid"): lambda theta, size: F.affine_grid(
        theta, list(size), align_corners=False
    ),
    ("check_affine_grid", "torch.affine_grid_generator"): lambda theta, size: torch.affine_grid_generator(
        theta, list(size), False
    ),
    ("check_dot_product_attention", "torch.nn.functional.scaled_dot_product_attention"): lambda q, k, v: (
        F.scaled_dot_product_attention(q, k, v),
        torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5, -1),
    ),
    ("check_pixel_norm", "coursekit.models.progan.PixelNorm.forward"): _pixel_norm,
    ("check_dilate_kernel", "torch.nn.functional.conv_transpose2d"): _dilate_by_transposed_conv,
    ("check_dense_block_forward", "coursekit.nn.dense.DenseBlock.forward"): _dense_block,
    ("check_siamese_probability", "coursekit.models.siamese.SiameseNet.score"): _siamese,
    ("check_se_parameters", "coursekit.nn.attention.SqueezeExcitation.__init__"): lambda c, r: _mod(
        "coursekit.analysis.complexity.count_params"
    )(_mod("coursekit.nn.attention.SqueezeExcitation")(c, r)),
    ("check_se_block", "coursekit.nn.attention.SqueezeExcitation.forward"): _SEInside,
    ("check_se_block", "coursekit.nn.attention.SqueezeExcitation.gate"): _SEGateInside,
    ("check_sagan_attention", "coursekit.nn.attention.SelfAttention.forward"): _SAGANInside,
    ("check_sagan_attention", "coursekit.nn.attention.dot_product_attention"): _SAGANWithDPA,
    ("check_sagan_attention", "torch.nn.functional.scaled_dot_product_attention"): _SAGANWithSDPA,
    ("check_unet_forward", "coursekit.nn.unet.center_crop"): _unet_forward(lambda x, size: _mod(
        "coursekit.nn.unet.center_crop"
    )(x, tuple(size))),
    ("check_unet_forward", "torchvision.transforms.functional.center_crop"): _unet_forward(_tv_center_crop),
    ("check_minibatch_stddev", "coursekit.models.progan.MinibatchStdDev.forward"): lambda x, g: _mod(
        "coursekit.models.progan.MinibatchStdDev"
    )(g)(x),
    ("check_kl_divergence", "coursekit.losses.kl_divergence"): lambda mu, lv: _mod("coursekit.losses.kl_divergence")(
        mu, lv, reduction="batchmean"
    ),
    ("check_conditioning_augmentation", "coursekit.losses.kl_divergence"): lambda mu, lv, eps: (
        mu + torch.exp(0.5 * lv) * eps,
        _mod("coursekit.losses.kl_divergence")(mu, lv, reduction="mean"),
    ),
    ("check_beta_vae_loss", "coursekit.models.disentangle.beta_vae_loss"): lambda *a: _mod(
        "coursekit.models.disentangle.beta_vae_loss"
    )(*a)["loss"],
    ("check_attention_map_for_query", "coursekit.widgets.attention.attention_row"): lambda a, h, w, x, y: _mod(
        "coursekit.widgets.attention.attention_row"
    )(a[:, None], (h, w), (h, w), image=0, column=x, row=y),
    ("check_pix2pix_g_loss", "coursekit.models.pix2pix.generator_loss"): _pix2pix,
    ("check_hook_macs", "coursekit.analysis.complexity.count_macs"): lambda model, x: _mod(
        "coursekit.analysis.complexity.count_macs"
    )(model, tuple(x.shape)),
    ("check_hook_macs", "coursekit.analysis.complexity.macs_by_module"): lambda model, x: sum(_mod(
        "coursekit.analysis.complexity.macs_by_module"
    )(model, tuple(x.shape)).values()),
    ("check_hook_macs", "torch.utils.flop_counter.FlopCounterMode.__init__"): _flop_counter_macs,
}
# Exercises whose course implementation cannot be called with the exercise's inputs (BicycleGAN's
# reparameterize draws its own noise): their
# cheaters below still fail, but would fail without the guards too.
NO_REAL_CHEAT = {"check_reparameterize"}


def _cheaters():
    for check_name, check in sorted(CHECKS.items()):
        for path in check.answer_paths + check.shortcut_paths:
            yield pytest.param(check_name, path, id=f"{check_name}-{path}")


def test_every_check_declares_what_it_blocks():
    assert len(CHECKS) >= 51
    for name, check in CHECKS.items():
        assert check.answer_paths or check.shortcut_paths, f"{name} declares no answer and no shortcut"
        for path in check.answer_paths + check.shortcut_paths:
            _core._resolve(path)  # raises when a path is stale


def test_every_exercise_in_the_notebooks_has_a_check():
    used = {e.check for e in exercises()}
    assert used <= set(CHECKS), used - set(CHECKS)
    assert set(CHECKS) <= used, f"checks no notebook uses: {set(CHECKS) - used}"


@pytest.mark.parametrize("check_name, path", list(_cheaters()))
def test_a_function_that_only_calls_the_answer_fails(check_name, path):
    check = CHECKS[check_name]
    cheater = CHEATERS.get((check_name, path), _call(path))
    before = _core._resolve(path)
    original = vars(before[0])[before[1]]
    r = check(cheater, quiet=True)
    assert r.status == "failed", r
    assert "yourself" in r.message and "is off while the check runs" in r.message, r.message
    assert r.hint
    assert vars(before[0])[before[1]] is original, "the guard was not taken away"


@pytest.mark.parametrize("check_name", sorted(CHECKS))
def test_the_answer_itself_handed_to_the_check_fails(check_name):
    check = CHECKS[check_name]
    for path in check.answer_paths:
        owner, attr = _core._resolve(path)
        if isinstance(owner, type) or attr.startswith("_") and attr != "__init__":
            continue
        r = check(getattr(owner, attr), quiet=True)
        assert r.status == "failed" and "is off while the check runs" in r.message, (path, r)


@pytest.mark.parametrize("check_name", sorted(CHECKS))
def test_each_exercise_has_a_real_cheat(check_name, monkeypatch):
    """Without the guards, at least one of the exercise's cheaters passes its check (and each special
    cheater does), so the failures above are the guards' doing, not a wrong signature."""
    check = CHECKS[check_name]
    monkeypatch.setattr(_core._Guard, "wrap", lambda self, fn: fn)
    real = []
    for path in check.answer_paths + check.shortcut_paths:
        passed = check(CHEATERS.get((check_name, path), _call(path)), quiet=True).passed
        assert passed or (check_name, path) not in CHEATERS, (check_name, path)
        real += [path] if passed else []
    assert bool(real) != (check_name in NO_REAL_CHEAT), (check_name, real)


def test_an_alias_in_the_students_namespace_is_caught():
    namespace: dict = {}
    exec(
        "from coursekit.models.style import gram_matrix as g\n"
        "from torch.nn.functional import affine_grid\n"
        "def gram(x):\n    return g(x)\n"
        "def grid(theta, size):\n    return affine_grid(theta, list(size), align_corners=False)\n",
        namespace,
    )
    from coursekit.checks.attention import check_affine_grid
    from coursekit.checks.style import check_gram

    assert "is off" in check_gram(namespace["gram"], quiet=True).message
    assert "F.affine_grid" in check_affine_grid(namespace["grid"], quiet=True).message
    from coursekit.models.style import gram_matrix

    assert namespace["g"] is gram_matrix and namespace["affine_grid"] is F.affine_grid  # restored


def test_a_reference_kept_in_a_closure_a_default_or_a_partial_is_caught():
    import functools

    from coursekit.checks.style import check_gram
    from coursekit.models import style

    def make():
        g = style.gram_matrix
        return lambda x: g(x)

    closure = make()
    default = lambda x, g=style.gram_matrix: g(x)
    keyword_default = lambda x, *, g=style.gram_matrix: g(x)
    for cheat in (closure, default, keyword_default, functools.partial(style.gram_matrix)):
        assert "is off while the check runs" in check_gram(cheat, quiet=True).message
    assert closure.__closure__[0].cell_contents is style.gram_matrix  # restored
    assert default.__defaults__ == (style.gram_matrix,) and keyword_default.__kwdefaults__["g"] is style.gram_matrix


def test_guards_are_restored_when_the_student_code_raises_and_a_swallowed_shortcut_still_fails():
    from coursekit.checks.attention import check_affine_grid

    def crashes(theta, size):
        raise RuntimeError("boom")

    assert check_affine_grid(crashes, quiet=True).status == "error"
    assert F.affine_grid.__module__ == "torch.nn.functional" and F.affine_grid.__name__ == "affine_grid"

    def swallows(theta, size):
        try:
            return F.affine_grid(theta, list(size), align_corners=False)
        except Exception:
            return F.affine_grid(theta, list(size), align_corners=False)

    assert check_affine_grid(swallows, quiet=True).status == "failed"


def test_the_grouped_shortcut_leaves_ordinary_convolutions_alone():
    """nn.Conv2d and F.conv2d with one group still work while the grouped-convolution check runs."""
    from coursekit.checks.architecture import check_grouped_conv

    def by_chunks(x, w, g):
        xs, ws = x.chunk(g, 1), w.chunk(g, 0)
        return torch.cat([F.conv2d(a, b, padding=1) for a, b in zip(xs, ws)], 1)

    assert check_grouped_conv(by_chunks, quiet=True).passed


@pytest.mark.parametrize("ex", exercises(), ids=lambda e: f"{e.notebook[:4]}-{e.check}")
def test_the_solution_answers_pass_their_checks(ex):
    fn = solution_function(ex.check)
    r = CHECKS[ex.check](fn, quiet=True)
    assert r.passed, r


@pytest.mark.parametrize(
    ("source", "check_path"),
    [
        ("from coursekit.metrics.image import lmse as psnr", "coursekit.checks.intrinsic.check_lmse"),
        ("from coursekit.metrics import lmse as psnr", "coursekit.checks.intrinsic.check_lmse"),
        ("from coursekit.metrics import precision_at_k as psnr", "coursekit.checks.features.check_precision_at_k"),
        ("from coursekit.metrics.retrieval import recall_at_k as psnr", "coursekit.checks.features.check_recall_at_k"),
    ],
)
def test_the_reference_metric_is_caught_from_the_package_and_its_module(source, check_path):
    """coursekit.metrics re-exports its modules' names: a student importing either path is caught,
    also when the import runs inside the function (after the guards went up)."""
    import importlib

    module, name = check_path.rsplit(".", 1)
    check = getattr(importlib.import_module(module), name)
    namespace: dict = {}
    exec(f"def at_import(*args):\n    return psnr(*args)\n{source}\n"
         f"def inside(*args):\n    {source}\n    return psnr(*args)\n", namespace)
    for cheat in (namespace["at_import"], namespace["inside"]):
        r = check(cheat, quiet=True)
        assert r.status == "failed" and "is off while the check runs" in r.message, (source, r)
    import coursekit.metrics as m
    from coursekit.metrics import image, retrieval

    assert m.psnr is image.psnr and m.recall_at_k is retrieval.recall_at_k  # restored
