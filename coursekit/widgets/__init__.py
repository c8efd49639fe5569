"""Interactive probes built from core ipywidgets only (they work in JupyterLab and Colab).

The computation lives in plain functions, tested without a browser; the widget wiring is thin.
"""
