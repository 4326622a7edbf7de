"""`python -m idp.cli …` runs the same command as the `idp` console script."""

from .main import app

app(prog_name="idp")
