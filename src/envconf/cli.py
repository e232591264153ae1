"""Placeholder; replaced by the real command-line front."""


def main(argv: list[str] | None = None) -> int:
    return 0
