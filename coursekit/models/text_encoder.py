"""A bag-of-words sentence encoder for the shapes' captions, in place of StackGAN's char-CNN-RNN.

StackGAN (Zhang et al., ICCV 2017) conditions on 1024-d sentence embeddings from the pre-trained
char-CNN-RNN of Reed et al., "Learning Deep Representations of Fine-Grained Visual Descriptions",
CVPR 2016. The course's captions have a fixed vocabulary in which each word names one factor value
(:mod:`coursekit.data.shapes`), so the mean of word embeddings and one linear layer suffice, trained
so that every captioned factor can be read linearly off the embedding
(:func:`coursekit.train.fit_text_encoder`; the loss of one step is :func:`caption_factor_loss`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..data.shapes import CAPTIONED, FACTORS, VOCAB

__all__ = ["TextEncoder", "caption_factor_heads", "caption_factor_loss"]


class TextEncoder(nn.Module):
    """A bag-of-words sentence encoder: mean of word embeddings, then a linear layer.

    ``(B, L)`` word ids → ``(B, embed_dim)``. Word order is ignored, which is enough for these
    captions (each word names one factor value). StackGAN used a pre-trained char-CNN-RNN with
    1024-d sentence embeddings; this encoder is trained in seconds by :func:`coursekit.train.fit_text_encoder`.
    """

    def __init__(self, vocab_size: int = len(VOCAB), embed_dim: int = 64, word_dim: int = 32):
        super().__init__()
        self.embed_dim = embed_dim
        self.words = nn.EmbeddingBag(vocab_size, word_dim, mode="mean", padding_idx=0)
        self.proj = nn.Linear(word_dim, embed_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.dtype != torch.long or ids.dim() != 2:
            raise TypeError(
                f"expected (B, L) long word ids from Tokenizer.encode_batch, got {ids.dtype} {tuple(ids.shape)}"
            )
        return self.proj(self.words(ids))  # (B, embed_dim)


def caption_factor_heads(encoder: TextEncoder, captioned: Sequence[str] = CAPTIONED) -> nn.ModuleList:
    """One linear read-out (embed_dim -> n_values) per captioned factor, discarded after training."""
    return nn.ModuleList(nn.Linear(encoder.embed_dim, len(FACTORS[f])) for f in captioned)


def caption_factor_loss(
    encoder: TextEncoder, heads: nn.ModuleList, ids: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Sum over captioned factors of the cross-entropy of reading the factor off the embedding.

    ``ids`` (B, L) word ids; ``targets`` (B, n_captioned) factor values, -1 where not captioned.
    """
    e = encoder(ids)  # (B, embed_dim)
    return sum(F.cross_entropy(h(e), targets[:, j], ignore_index=-1) for j, h in enumerate(heads))
