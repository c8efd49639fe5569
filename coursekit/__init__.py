"""coursekit: the implementations behind the CreativeAI "Common Architecture Elements" notebooks.

Layers, bottom to top: ``runtime`` (device, seeds, profiles) → ``data`` → ``nn`` (building
blocks) → ``models`` → ``train``, ``analysis``, ``viz``, ``widgets`` → ``checks`` (exercise checks).
Importing ``coursekit`` needs only torch; heavier modules are imported where they are used.
"""

from .doctor import doctor
from .report import record
from .runtime import PROFILES, Profile, device, profile, seed_everything, start

__version__ = "0.1.0"

__all__ = ["PROFILES", "Profile", "device", "doctor", "profile", "record", "seed_everything", "start"]
