"""Notebook 1.4's checks: a dense block's forward and the U-Net's forward. The reference passes, each
realistic mistake fails with a hint, a stub is 'not done', and coursekit's own forward is refused."""

import pytest
import torch

from coursekit.checks import architecture as A
from coursekit.checks import skips as S


def _stub(*args, **kwargs):
    raise NotImplementedError()


# ---- dense block: the reference and realistic mistakes ------------------------------------------
def dense(x, layers):
    feats = [x]
    for layer in layers:
        feats.append(layer(torch.cat(feats, 1)))
    return torch.cat(feats, 1)


def dense_adds(x, layers):  # ResNet-style: adds each layer's maps instead of concatenating them
    for layer in layers:
        x = x + layer(x)
    return x


def dense_previous_only(x, layers):  # each layer sees only the previous layer's output
    feats, h = [x], x
    for layer in layers:
        h = layer(h)
        feats.append(h)
    return torch.cat(feats, 1)


def dense_newest_first(x, layers):  # concatenates in the wrong order
    feats = [x]
    for layer in layers:
        feats.insert(0, layer(torch.cat(feats, 1)))
    return torch.cat(feats, 1)


def dense_forgets_input(x, layers):  # returns only the new maps
    feats = [x]
    for layer in layers:
        feats.append(layer(torch.cat(feats, 1)))
    return torch.cat(feats[1:], 1)


def dense_last_input(x, layers):  # returns what the last layer read, without its new maps
    feats = [x]
    for layer in layers:
        inp = torch.cat(feats, 1)
        feats.append(layer(inp))
    return inp


# ---- U-Net forward: the reference and realistic mistakes ----------------------------------------
def _crop(skip, x, corner=False):
    h, w = x.shape[-2:]
    top, left = (0, 0) if corner else ((skip.shape[-2] - h) // 2, (skip.shape[-1] - w) // 2)
    return skip[..., top:top + h, left:left + w]


def _unet(net, x, *, reverse=True, corner=False, decoder_first=False, add=False, keep_pooled=False,
          always_skip=False, head=True):
    saved = []
    for block in net.down:
        x = block(x)
        saved.append(net.pool(x) if keep_pooled else x)
        x = net.pool(x)
    x = net.bottom(x)
    for up, block, skip in zip(net.up, net.decode, reversed(saved) if reverse else saved):
        x = up(x)
        if net.skips or always_skip:
            s = _crop(skip, x, corner)
            x = x + s if add else torch.cat([x, s] if decoder_first else [s, x], 1)
        x = block(x)
    return net.head(x) if head else x


def unet(net, x):
    return _unet(net, x)


UNET_WRONG = {
    "corner crop": lambda net, x: _unet(net, x, corner=True),
    "decoder maps first": lambda net, x: _unet(net, x, decoder_first=True),
    "skips in the order they were kept": lambda net, x: _unet(net, x, reverse=False),
    "adds instead of concatenating": lambda net, x: _unet(net, x, add=True),
    "keeps the maps after pooling": lambda net, x: _unet(net, x, keep_pooled=True),
    "ignores net.skips": lambda net, x: _unet(net, x, always_skip=True),
    "forgets the head": lambda net, x: _unet(net, x, head=False),
}
DENSE_WRONG = [dense_adds, dense_previous_only, dense_newest_first, dense_forgets_input, dense_last_input]


def test_the_references_pass_and_stubs_are_not_done():
    assert A.check_dense_block_forward(dense, quiet=True).status == "passed"
    assert S.check_unet_forward(unet, quiet=True).status == "passed"
    assert A.check_dense_block_forward(_stub, quiet=True).status == "not done"
    assert S.check_unet_forward(_stub, quiet=True).status == "not done"


@pytest.mark.parametrize("wrong", DENSE_WRONG, ids=[f.__name__ for f in DENSE_WRONG])
def test_a_wrong_dense_block_fails_with_a_hint(wrong):
    r = A.check_dense_block_forward(wrong, quiet=True)
    assert r.status == "failed" and r.hint, r


def test_feeding_only_the_previous_maps_is_named():
    r = A.check_dense_block_forward(dense_previous_only, quiet=True)
    assert "expected [3, 5, 7, 9], got [3, 2, 2, 2]" in r.message, r.message


@pytest.mark.parametrize("name", list(UNET_WRONG))
def test_a_wrong_unet_forward_fails_with_a_hint(name):
    r = S.check_unet_forward(UNET_WRONG[name], quiet=True)
    assert r.status == "failed" and r.hint, (name, r)


@pytest.mark.parametrize("cheat", [lambda net, x: net(x), lambda net, x: net.forward(x),
                                   lambda net, x: type(net).forward(net, x)])
def test_calling_the_course_unet_is_refused(cheat):
    r = S.check_unet_forward(cheat, quiet=True)
    assert r.status == "failed" and "is off while the check runs" in r.message, r


def test_torchvision_center_crop_is_refused():
    from test_checks_shortcuts import _unet_forward  # the U-Net forward pass with a crop of one's choice
    from torchvision.transforms.functional import center_crop

    r = S.check_unet_forward(_unet_forward(center_crop), quiet=True)
    assert r.status == "failed" and "is off while the check runs" in r.message, r
