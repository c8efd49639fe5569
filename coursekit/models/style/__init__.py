"""Neural style transfer: by optimisation (Gatys), its perceptual controls, and video.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016:
an image ``x`` is optimised so that its deep features match a content image's (content loss, one
deep layer) and the correlations between its feature channels (Gram matrices) match a style
image's (style loss, five layers from fine to coarse). Gatys, Ecker, Bethge, Hertzmann &
Shechtman, "Controlling Perceptual Factors in Neural Style Transfer", CVPR 2017: colour, spatial
and scale control. Ruder, Dosovitskiy & Brox, "Artistic Style Transfer for Videos", GCPR 2016:
temporal consistency.

One idea per module:

- :mod:`.features`: the VGG-19 feature space (named layers, average pools) and input tidying;
- :mod:`.losses`: Gram matrices, content, style and total-variation losses, ``PerceptualLoss``;
- :mod:`.colour`: colour control (YIQ luminance, colour matching);
- :mod:`.gatys`: the image optimisation (L-BFGS through ``coursekit.train.loop``);
- :mod:`.video`: optical-flow warping, the temporal loss, flicker and video stylisation.

The public names are re-exported here: ``from coursekit.models import style; style.gram_matrix``.
"""

from .colour import luminance_yiq, match_color, preserve_luminance_colors
from .features import CONTENT_LAYERS, MAX_SIDE, STYLE_LAYERS, VGGFeatures, check_image
from .gatys import LBFGS_CHUNK, lbfgs, transfer
from .losses import PerceptualLoss, content_loss, gram_matrix, guided_gram_matrix, style_loss, total_variation
from .video import consistency_mask, flicker, inside_mask, stylize_video, temporal_loss, warp

__all__ = [
    "CONTENT_LAYERS",
    "LBFGS_CHUNK",
    "MAX_SIDE",
    "STYLE_LAYERS",
    "PerceptualLoss",
    "VGGFeatures",
    "check_image",
    "consistency_mask",
    "content_loss",
    "flicker",
    "gram_matrix",
    "guided_gram_matrix",
    "inside_mask",
    "lbfgs",
    "luminance_yiq",
    "match_color",
    "preserve_luminance_colors",
    "style_loss",
    "stylize_video",
    "temporal_loss",
    "total_variation",
    "transfer",
    "warp",
]
