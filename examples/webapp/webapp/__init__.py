"""An example HTTP service configured with envconf (see README.md)."""
