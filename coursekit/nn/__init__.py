"""Building blocks (layers and blocks that models are made of), one idea per module."""
