import pytest
import torch
from torch import nn

from coursekit.nn.attention import NonLocalBlock, SelfAttention
from coursekit.widgets.attention import (
    AttentionProbe,
    attention_layers,
    attention_row,
    query_cell,
    render_probe,
)


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.block = NonLocalBlock(8, heads=2, norm=False)
        self.down = nn.Conv2d(8, 8, 2, stride=2)
        self.sa = SelfAttention(8, reduction=2, subsample=True)

    def forward(self, x):
        return self.sa(self.down(self.block(self.stem(x))))


@pytest.fixture(scope="module")
def probe():
    torch.manual_seed(0)
    return AttentionProbe(_Net(), torch.rand(3, 1, 12, 16))


def test_layers_found_and_maps_kept(probe):
    assert probe.layer_names == ["block", "sa"]
    assert probe.heads("block") == 2 and probe.heads("sa") == 1
    assert probe.image_size == (12, 16)
    assert list(attention_layers(_Net())) == ["block", "sa"]


@pytest.mark.parametrize("layer", ["block", "sa"])
def test_map_sums_to_one_and_depends_on_query(probe, layer):
    a = probe.attention(x=0, y=0, layer=layer)
    b = probe.attention(x=15, y=11, layer=layer)
    assert torch.allclose(a.sum(), torch.tensor(1.0), atol=1e-5)
    assert torch.allclose(b.sum(), torch.tensor(1.0), atol=1e-5)
    assert not torch.allclose(a, b)


def test_query_cell_maps_pixels_to_grid():
    assert query_cell(0, 0, (12, 16), (6, 8)) == (0, 0)
    assert query_cell(15, 11, (12, 16), (6, 8)) == (7, 5)
    assert query_cell(7, 5, (12, 16), (12, 16)) == (7, 5)
    with pytest.raises(ValueError, match="outside the image"):
        query_cell(16, 0, (12, 16), (6, 8))


def test_attention_row_indexing_and_errors():
    attn = torch.softmax(torch.randn(2, 3, 4 * 5, 6), -1)
    row = attention_row(attn, (4, 5), (2, 3), image=1, head=2, column=3, row=2)
    assert torch.equal(row, attn[1, 2, 2 * 5 + 3].reshape(2, 3))
    with pytest.raises(ValueError, match="head 3 out of range"):
        attention_row(attn, (4, 5), (2, 3), head=3)
    with pytest.raises(ValueError, match="does not match"):
        attention_row(attn, (4, 4), (2, 3))


def test_render_returns_png():
    png = render_probe(torch.rand(3, 8, 8), torch.softmax(torch.randn(16), 0).reshape(4, 4), 2, 3)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_attention_layer_is_a_clear_error():
    with pytest.raises(ValueError, match="no NonLocalBlock or SelfAttention"):
        AttentionProbe(nn.Conv2d(1, 1, 3), torch.rand(1, 1, 4, 4))


def test_widget_controls_update_picture_and_text(probe):
    box = probe.widget()
    c = box.controls
    assert set(c) == {"query x", "query y", "layer", "head", "image"}
    assert c["query x"].description == "query x" and c["query y"].description == "query y"
    first_png, first_text = box.picture.value, box.text.value
    c["query x"].value = 15
    c["query y"].value = 11
    assert "query (15, 11)" in box.text.value
    assert box.picture.value != first_png and box.text.value != first_text
    c["layer"].value = "sa"
    assert c["head"].max == 0
    assert box.text.value.startswith("layer sa")
    c["layer"].value = "block"
    assert c["head"].max == 1
    c["head"].value = 1
    c["image"].value = 2
    assert "head 1, image 2" in box.text.value


def test_model_state_restored():
    net = _Net().train()
    AttentionProbe(net, torch.rand(2, 1, 8, 8))
    assert net.training
    assert not net.block.keep_attention and net.block.last_attention is None
