"""Data: downloads with checksums, and offline procedural datasets (deterministic from a seed).

Modules: ``download`` (cache, SHA-256, offline fallback), ``glyphs`` (characters of many scripts
and fonts), ``photos`` (crops of the photos that scikit-image, scikit-learn and matplotlib ship),
and one module per procedural dataset used by later sections.
"""
