"""Analysis of networks: receptive fields (theoretical and effective), parameters and MACs."""

from .complexity import (
    UnsupportedLayerError,
    count_macs,
    count_params,
    example_input,
    macs_by_module,
    skeleton,
)
from .receptive_field import (
    EffectiveReceptiveField,
    LayerRF,
    PerAxis,
    ReceptiveField,
    effective_receptive_field,
    receptive_field,
    rf_recurrence,
)

__all__ = [
    "EffectiveReceptiveField",
    "LayerRF",
    "PerAxis",
    "ReceptiveField",
    "UnsupportedLayerError",
    "count_macs",
    "count_params",
    "effective_receptive_field",
    "example_input",
    "macs_by_module",
    "receptive_field",
    "rf_recurrence",
    "skeleton",
]
