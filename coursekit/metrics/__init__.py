"""How good a result is: one package for the course's measurements, one idea per module.

- :mod:`.image` — a prediction against its target image: PSNR, SSIM (Wang et al. 2004), line
  precision/recall with a tolerance, scale-invariant errors for intrinsic images (Grosse et al. 2009).
- :mod:`.generative` — a set of generated images against real ones: the Fréchet distance (Heusel et
  al. 2017) in the features of a trained network, diversity (Zhu et al. 2017), modes and classes covered.
- :mod:`.retrieval` — a feature space as a search engine: nearest neighbours, precision@k, recall@k.

Metrics measure; they train nothing. The feature network the Fréchet distance needs is trained by
:func:`coursekit.train.frechet_features`.
"""

from .generative import (
    FrechetScorer,
    class_coverage,
    diversity,
    frechet_distance,
    gaussian_stats,
    modes_covered,
)
from .image import ink, line_prf, lmse, psnr, si_log_loss, si_mse, ssim
from .retrieval import nearest_neighbours, pairwise_distances, precision_at_k, recall_at_k

__all__ = [
    "FrechetScorer",
    "class_coverage",
    "diversity",
    "frechet_distance",
    "gaussian_stats",
    "ink",
    "line_prf",
    "lmse",
    "modes_covered",
    "nearest_neighbours",
    "pairwise_distances",
    "precision_at_k",
    "psnr",
    "recall_at_k",
    "si_log_loss",
    "si_mse",
    "ssim",
]
