"""Analysis of networks: receptive fields (theoretical and effective), parameters and MACs."""

from .complexity import (
    UnsupportedLayerError,
    count_macs,
    count_params,
    example_input,
    macs_by_module,
    module_macs,
    skeleton,
)
from .effective_rf import EffectiveReceptiveField, effective_receptive_field
from .receptive_field import LayerRF, ReceptiveField, receptive_field, rf_recurrence

__all__ = [
    "EffectiveReceptiveField",
    "LayerRF",
    "ReceptiveField",
    "UnsupportedLayerError",
    "count_macs",
    "count_params",
    "effective_receptive_field",
    "example_input",
    "macs_by_module",
    "module_macs",
    "receptive_field",
    "rf_recurrence",
    "skeleton",
]
