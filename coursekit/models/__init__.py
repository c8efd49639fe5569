"""Models from the papers the course follows, one model family per module."""
