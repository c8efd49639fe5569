"""Browser tests: JupyterLab driven by headless Chromium (one server for this package)."""
