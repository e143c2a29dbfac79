"""Command-line interface: Typer commands that only wire options to library calls."""
