#!/usr/bin/env python
"""Django's command-line utility for the IDP."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    # A running `make run`'s broker, local AWS API and database, unless set here.
    from idp import runenv

    runenv.load()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
