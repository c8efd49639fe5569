"""coursekit: the implementations behind the CreativeAI "Common Architecture Elements" notebooks.

Layers, top row first; a module imports only from its own row and the rows below
(``tests/test_layers.py`` holds this table and fails on an upward import)::

    6  checks
    5  train, models.style, metrics, analysis, viz, viz_ideas, widgets, baselines, doctor
    4  models
    3  nn, losses, features, pretrained
    2  data
    1  validate, report, experiment
    0  runtime

``runtime`` is devices, seeds and profiles; ``validate`` the input checks; ``report`` records a
notebook's results (``experiment`` runs an arm over seeds); ``nn`` the building blocks, with
losses, feature taps and pretrained backbones; ``models`` networks, their losses and single
training steps; ``train`` every optimiser loop (``fit``/``loop``, mixed precision, checkpoints,
the shared GAN loop, the measuring networks), with ``models.style`` (style transfer optimises an
image through ``train.loop``); ``metrics`` image, generative and retrieval measures (they train
nothing); ``checks`` the exercise checks. This package is what students install: importing it
needs only torch (heavier modules are imported where they are used), and it holds no instructor
tooling (authoring, builds, reports, grading live in the repository's ``tools/``).
"""

from .doctor import doctor
from .report import record
from .runtime import PROFILES, Profile, device, profile, seed_everything, start

__version__ = "0.1.0"

__all__ = ["PROFILES", "Profile", "device", "doctor", "profile", "record", "seed_everything", "start"]
