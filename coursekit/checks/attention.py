"""Exercise checks for section 4 (attention), notebooks 4.1–4.3 (4.4's are in :mod:`.exposure`)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._core import exercise, expect, expect_close, expect_equal, expect_shape

__all__ = [
    "check_affine_grid",
    "check_attention_map_for_query",
    "check_dot_product_attention",
    "check_sagan_attention",
    "check_similarity_theta",
    "check_se_block",
    "check_se_parameters",
]


# --- 4.1 -------------------------------------------------------------------------------------------
@exercise("the affine sampling grid", answer=("coursekit.nn.stn.affine_grid",), shortcuts=("torch.nn.functional.affine_grid", "torch.affine_grid_generator"))
def check_affine_grid(student_fn):
    theta = torch.randn(3, 2, 3)
    want = F.affine_grid(theta, [3, 1, 5, 7], align_corners=False)
    got = student_fn(theta, (3, 1, 5, 7))
    expect_shape(
        got,
        (3, 5, 7, 2),
        "grid for theta (3, 2, 3) and size (3, 1, 5, 7)",
        hint=(
            "the grid holds one (x, y) source coordinate per output pixel",
            "its shape is (B, H, W, 2)",
        ),
    )
    ident = student_fn(torch.tensor([[[1.0, 0, 0], [0, 1, 0]]]), (1, 1, 4, 4))
    expect_close(
        ident,
        F.affine_grid(torch.tensor([[[1.0, 0, 0], [0, 1, 0]]]), [1, 1, 4, 4], align_corners=False),
        "grid of the identity transform on a 4×4 image",
        hint=(
            "start from the identity: each output pixel's own coordinates, normalised to [−1, 1]",
            "pixel centres sit at (2i + 1)/n − 1 (align_corners off); x varies along the width, y along the height",
            "the last dimension is (x, y) in that order",
        ),
    )
    expect_close(
        got,
        want,
        "grid for a random theta",
        hint=(
            "every target coordinate is mapped by θ to its source coordinate",
            "write the target coordinate as (x_t, y_t, 1) and apply the 2×3 matrix θ of its own batch element",
        ),
    )


def _similarity_theta(angle: float, scale: float, tx: float, ty: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[scale * c, -scale * s, tx], [scale * s, scale * c, ty]])


@exercise("a similarity transform as θ", answer=("coursekit.checks.attention._similarity_theta",))
def check_similarity_theta(student_fn):
    for angle, scale, tx, ty in [
        (0.0, 1.0, 0.0, 0.0),
        (math.pi / 2, 1.0, 0.0, 0.0),
        (0.3, 0.5, 0.2, -0.1),
        (-1.1, 1.7, -0.4, 0.3),
    ]:
        want = _similarity_theta(angle, scale, tx, ty)
        got = student_fn(angle, scale, tx, ty)
        expect_shape(got, (2, 3), f"theta for angle={angle:.2f}", hint=(
            "θ is a 2×3 matrix",
            "a 2×2 linear part A next to a translation column t",
        ))
        expect_close(
            got.float(),
            want,
            f"theta for angle={angle:.2f}, scale={scale}, t=({tx}, {ty})",
            hint=(
                "a similarity is a rotation and a uniform scale, then a shift",
                "A = scale × the counter-clockwise rotation matrix of the angle; the last column is (tx, ty)",
            ),
        )


@exercise("scaled dot-product attention", answer=("coursekit.nn.attention.dot_product_attention",), shortcuts=("torch.nn.functional.scaled_dot_product_attention",))
def check_dot_product_attention(student_fn):
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 7, 8), torch.randn(2, 7, 3)
    got = student_fn(q, k, v)
    expect(
        isinstance(got, tuple) and len(got) == 2,
        "the function should return (output, weights)",
        hint=(
            "the function returns two things",
            "return the pair (output, weights)",
        ),
    )
    out, w = got
    expect_shape(
        w, (2, 5, 7), "weights for 5 queries and 7 keys", hint=(
            "one weight per (query, key) pair",
            "the weights have shape (B, N, M): N queries, M keys",
        )
    )
    ref_w = torch.softmax(q @ k.transpose(1, 2) / 8**0.5, dim=-1)
    expect_close(
        w.sum(-1),
        torch.ones(2, 5),
        "each row of the weights should sum to one",
        hint=(
            "each query's weights are a distribution over the keys",
            "take the softmax over the keys, the last dimension",
        ),
    )
    expect_close(
        w, ref_w, "attention weights", hint=(
            "the logits are the dot products of queries and keys, scaled",
            "divide the logits by √d (d = 8 here) before the softmax",
        )
    )
    expect_close(
        out, F.scaled_dot_product_attention(q, k, v), "attention output", hint=(
            "the output is an average of the values",
            "each output row is the weighted sum of the value rows, with that query's weights",
        )
    )


# --- 4.2 -------------------------------------------------------------------------------------------
def _se_expected(block, x):
    """What an SE block with the student's own ``fc1`` and ``fc2`` must return (Hu et al., Eq. 2-4)."""
    z = x.mean((2, 3))  # squeeze: (B, C)
    s = torch.sigmoid(block.fc2(F.relu(block.fc1(z))))  # excitation: (B, C)
    return x * s[:, :, None, None]  # scale: (B, C, H, W)


@exercise("a squeeze-and-excitation block", answer=("coursekit.nn.attention.SqueezeExcitation.forward",
                                                     "coursekit.nn.attention.SqueezeExcitation.gate"))
def check_se_block(student_cls):
    from torch import nn

    for channels, reduction in [(24, 4), (16, 8)]:
        hidden = channels // reduction
        block = student_cls(channels, reduction)
        expect(isinstance(block, nn.Module), f"SEBlock({channels}, {reduction}) should build an nn.Module", hint=(
            "the exercise asks for a layer: a class derived from the module base class of PyTorch",
            "define the class as a subclass of the module base class and call the base class's constructor first",
        ))
        layers = [getattr(block, name, None) for name in ("fc1", "fc2")]
        expect(all(isinstance(layer, nn.Linear) for layer in layers),
               f"SEBlock({channels}, {reduction}) should keep its two fully connected layers as fc1 and fc2",
               hint=("the check reads the two fully connected layers by their names",
                     "store them as attributes named fc1 and fc2, each a fully connected (linear) layer with a bias"))
        expect_equal((block.fc1.in_features, block.fc1.out_features, block.fc2.in_features, block.fc2.out_features),
                     (channels, hidden, hidden, channels),
                     f"fc1 and fc2 of SEBlock({channels}, {reduction}) as (in, out, in, out)", hint=(
                         "the excitation is a bottleneck: it reduces the C channels to C/r, then goes back to C",
                         "fc1 maps C to C // r features, fc2 maps C // r back to C (here r is the second argument)",
                     ))
        n_params = sum(p.numel() for p in block.parameters())
        expect_equal(n_params, 2 * channels * hidden + hidden + channels,
                     f"learnable parameters of SEBlock({channels}, {reduction})", hint=(
                         "an SE block learns only its two fully connected layers",
                         "remove any other layer: no convolution, no norm layer; both fully connected layers keep "
                         "their biases",
                     ))
        with torch.no_grad():  # large random weights make every mistake visible
            for p in block.parameters():
                p.normal_(0.0, 0.7)
        # C, H and W all differ, so a wrong axis shows; |x| ≥ 0.2, so the ratio output / x is well defined
        sign = torch.where(torch.rand(3, channels, 5, 7) < 0.3, -1.0, 1.0)
        x = sign * (0.2 + torch.rand(3, channels, 5, 7))
        got = block(x)
        want = _se_expected(block, x)
        expect_shape(got, (3, channels, 5, 7), f"SEBlock({channels}, {reduction}) on x of shape (3, {channels}, 5, 7)",
                     hint=("the block reweighs the channels of its input: the output has the input's shape",
                           "multiply x by the channel weights, one weight per image and channel, broadcast over H and W"))
        ratio = (got / x).detach()  # the weight each element was multiplied by
        expect(bool(((ratio - ratio[:, :, :1, :1]).abs() < 1e-4).all()),
               "every position of a channel should be scaled by the same weight", hint=(
                   "SE weighs whole channels: one number per image and channel, the same at every position",
                   "squeeze first: summarise each channel over all H × W positions into one number, then excite "
                   "that (B, C) table",
               ))
        expect(bool(((ratio >= 0) & (ratio <= 1)).all()), "the channel weights should lie in (0, 1)", hint=(
            "the weights are gates: between 0 (switch the channel off) and 1 (keep it)",
            "finish the excitation with the logistic sigmoid σ, not a softmax, a ReLU or nothing",
        ))
        expect_close(got, want, f"SEBlock({channels}, {reduction}) output", hint=(
            "squeeze with the average over positions (not the maximum), per image and channel, never over the batch",
            "the gate s is σ of fc2 of δ of fc1 of z, with z the per-channel mean over H and W and δ the ReLU; the "
            "output is x times s",
        ))


@exercise("SE parameter count", answer=("coursekit.nn.attention.SqueezeExcitation.__init__",))
def check_se_parameters(student_fn):
    for c, r in [(64, 16), (256, 16), (2048, 16), (96, 4)]:
        want = 2 * c * (c // r) + c // r + c
        expect_equal(
            student_fn(c, r),
            want,
            f"se_parameters({c}, {r})",
            hint=(
                "an SE block has two fully connected layers, C → C/r → C",
                "each layer has a weight matrix and a bias vector; C/r is rounded down",
            ),
        )


# --- 4.3 -------------------------------------------------------------------------------------------
@exercise("one query's attention map", answer=("coursekit.widgets.attention.attention_row",))
def check_attention_map_for_query(student_fn):
    h, w = 4, 6
    attn = torch.softmax(torch.randn(2, h * w, h * w), dim=-1)
    got = student_fn(attn, h, w, 5, 1)
    expect_shape(got, (h, w), "map for a 4×6 grid", hint=(
        "one query's row holds its weights over all H·W keys",
        "reshape that row to (H, W)",
    ))
    expect_close(
        got,
        attn[0, 1 * w + 5].reshape(h, w),
        "map of query x=5, y=1 in image 0",
        hint=(
            "positions are flattened row by row",
            "the query at column x and row y has index y·W + x; take it from image 0",
        ),
    )


def _sagan_terms(layer, x):
    """The pieces of SAGAN's layer (Zhang et al., Eq. 1-3) from the student's own f, g, h, v and γ."""
    b, _, hh, ww = x.shape
    f, g, h = layer.f(x).flatten(2), layer.g(x).flatten(2), layer.h(x).flatten(2)  # (B, C', N) each
    s = f.transpose(1, 2) @ g  # (B, N, N): s[i, j] = f(x_i)ᵀ g(x_j)

    def out(beta):  # beta (B, N_i, N_j) → v(Σ_i β_{j,i} h(x_i)), (B, C, H, W)
        return layer.v((h @ beta).reshape(b, -1, hh, ww))

    return s, out


def _sagan_expected(layer, x):
    s, out = _sagan_terms(layer, x)
    return layer.gamma * out(s.softmax(dim=1)) + x  # softmax over i (the positions looked at)


_SAGAN_MISTAKES = {
    "the softmax normalises over the wrong positions": (
        "β_{j,i} is a distribution over the positions i that position j looks at",
        "s_ij is the dot product of f at position i and g at position j: normalise over i (the index of f), for each j",
    ),
    "the attention matrix is used transposed": (
        "o_j averages the values h at all positions i, with the weights β_{j,i}",
        "check which index of your weight matrix is summed over when you multiply it with h",
    ),
    "γ is missing: the output is o + x": (
        "the attention's output is scaled by the learned γ before it is added",
        "y = γ times (v applied to o), plus x",
    ),
    "the residual is missing: the output is γ·o": (
        "the layer is residual: it adds to its input",
        "y = γ times (v applied to o), plus x",
    ),
    "the logits are scaled by 1/√d": (
        "SAGAN, unlike the Transformer, does not scale the logits",
        "use the plain dot products s_ij of f at i and g at j as the logits",
    ),
}


def _sagan_diagnose(layer, x, got, channels):
    """Name a known mistake when the student's output matches it (and not the right answer)."""
    with torch.no_grad():
        got, want = got.detach(), _sagan_expected(layer, x)
        if not torch.isfinite(got).all() or torch.allclose(got, want, rtol=1e-4, atol=1e-5):
            return
        s, out = _sagan_terms(layer, x)
        gamma, d = layer.gamma, channels // 8
        candidates = {
            "the softmax normalises over the wrong positions": gamma * out(s.softmax(dim=2)) + x,
            "the attention matrix is used transposed": gamma * out(s.softmax(dim=1).transpose(1, 2)) + x,
            "γ is missing: the output is o + x": out(s.softmax(dim=1)) + x,
            "the residual is missing: the output is γ·o": gamma * out(s.softmax(dim=1)),
            "the logits are scaled by 1/√d": gamma * out((s / d**0.5).softmax(dim=1)) + x,
        }
    for what, value in candidates.items():
        if torch.allclose(got, value, rtol=1e-4, atol=1e-5):
            expect(False, f"SelfAttentionLayer({channels}) output: {what}", hint=_SAGAN_MISTAKES[what])


@exercise("SAGAN's self-attention layer", answer=("coursekit.nn.attention.SelfAttention.forward",),
          shortcuts=("coursekit.nn.attention.dot_product_attention",
                     "torch.nn.functional.scaled_dot_product_attention"))
def check_sagan_attention(student_cls):
    from torch import nn

    for channels in (16, 32):
        small = channels // 8
        layer = student_cls(channels)
        expect(isinstance(layer, nn.Module), f"SelfAttentionLayer({channels}) should build an nn.Module", hint=(
            "the exercise asks for a layer: a class derived from the module base class of PyTorch",
            "define the class as a subclass of the module base class and call the base class's constructor first",
        ))
        convs = [getattr(layer, name, None) for name in ("f", "g", "h", "v")]
        expect(all(isinstance(c, nn.Conv2d) for c in convs),
               f"SelfAttentionLayer({channels}) should keep its four 1×1 convolutions as f, g, h and v", hint=(
                   "the check reads the four projections by the paper's names",
                   "store them as attributes named f, g, h and v, each a 2-d convolution with a 1×1 kernel"))
        shapes = [(c.in_channels, c.out_channels, tuple(c.kernel_size), c.bias is None) for c in convs]
        want_shapes = [(channels, small, (1, 1), True)] * 3 + [(small, channels, (1, 1), True)]
        expect_equal(shapes, want_shapes, f"f, g, h, v of SelfAttentionLayer({channels}) as (in, out, kernel, "
                     "no bias)", hint=(
                         "f, g and h project C channels down to C/8; v brings C/8 back up to C",
                         "in the paper the four are plain matrices W_f, W_g, W_h, W_v: 1×1 convolutions without "
                         "a bias term",
                     ))
        gamma = getattr(layer, "gamma", None)
        expect(isinstance(gamma, nn.Parameter) and gamma.numel() == 1,
               "the layer should learn one scale γ, stored as a parameter named gamma", hint=(
                   "γ is a single learned number, not a constant and not one per channel",
                   "make it a learnable parameter holding one value",
               ))
        expect(float(gamma.detach()) == 0.0, "γ should start at 0", hint=(
            "the paper initialises γ to 0, so the layer starts as the identity",
            "initialise the parameter with zeros",
        ))
        n_params = sum(p.numel() for p in layer.parameters())
        expect_equal(n_params, 4 * channels * small + 1, f"learnable parameters of SelfAttentionLayer({channels})",
                     hint=("the layer learns four 1×1 projections and γ, nothing else",
                           "no norm layer, no biases, no extra convolution"))
        x = torch.randn(2, channels, 5, 7)  # H ≠ W: a wrong reshape or transpose shows
        got0 = layer(x)
        expect_shape(got0, tuple(x.shape), f"SelfAttentionLayer({channels}) on x of shape {tuple(x.shape)}", hint=(
            "the layer keeps the shape of its input: it adds γ·o to x",
            "flatten H·W positions for the attention, then reshape back to (B, C, H, W) before v",
        ))
        _sagan_diagnose(layer, x, got0, channels)
        expect_close(got0, x, "at initialisation (γ = 0) the output should equal the input", hint=(
            "y = γ·o + x: with γ = 0 nothing but the input remains",
            "add the input back after scaling o by γ",
        ))
        with torch.no_grad():  # large random weights and γ ≠ 0 make every mistake visible
            for c in convs:
                c.weight.normal_(0.0, 0.6)
            gamma.fill_(0.7)
        want = _sagan_expected(layer, x)
        got = layer(x)
        expect_shape(got, tuple(x.shape), f"SelfAttentionLayer({channels}) with trained weights", hint=(
            "the output has the input's shape",
            "reshape the attended values back to (B, C/8, H, W) before v",
        ))
        _sagan_diagnose(layer, x, got, channels)
        expect_close(got, want, f"SelfAttentionLayer({channels}) output", hint=(
            "s_ij = f_iᵀ g_j for all pairs of positions (f_i: f at position i), β = softmax over i, o_j = Σ_i β_{j,i} h_i",
            "flatten positions with the channels first ((B, C/8, H·W)); reshape o to (B, C/8, H, W), apply v, "
            "scale by γ and add x",
        ))
