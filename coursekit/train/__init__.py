"""The training layer: every optimiser loop in coursekit lives here.

* :mod:`.loop` — :func:`fit` (a model, a loss, batches), :func:`loop` (any step function, e.g. an
  optimiser over image pixels), :class:`Budget`, :class:`History`, :func:`to_device`,
  :func:`warmup_cosine` (a learning-rate schedule);
* :mod:`.precision` — :func:`amp_policy`, :class:`MixedPrecision`, :func:`autocast`;
* :mod:`.checkpoint` — :func:`save_checkpoint`, :func:`load_checkpoint`, :class:`CheckpointError`;
* :mod:`.gan` — :func:`fit_gan`, the shared GAN loop (one D update, one G update per step), and
  :func:`random_batches`;
* :mod:`.classifier` — the measuring networks: :func:`frechet_features`,
  :func:`fit_factor_classifier`, :func:`fit_text_encoder`.

Models define networks, losses and single steps; this layer runs them.
"""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .classifier import fit_factor_classifier, fit_text_encoder, frechet_features
from .gan import AdversarialStep, fit_gan, random_batches
from .loop import Budget, History, fit, loop, to_device, warmup_cosine
from .precision import AmpPolicy, MixedPrecision, amp_policy, autocast

__all__ = [
    "AdversarialStep",
    "AmpPolicy",
    "Budget",
    "CheckpointError",
    "History",
    "MixedPrecision",
    "amp_policy",
    "autocast",
    "fit",
    "fit_factor_classifier",
    "fit_gan",
    "fit_text_encoder",
    "frechet_features",
    "load_checkpoint",
    "loop",
    "random_batches",
    "save_checkpoint",
    "to_device",
    "warmup_cosine",
]
