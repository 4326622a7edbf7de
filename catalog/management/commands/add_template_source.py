"""`manage.py add_template_source URL [--ref-pattern P] [--branch] [--path SUB]... [--sync]`:
register a Git repository (or local path) whose tags are template versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.choices import SourceRefType
from catalog.services import sources
from idp.services import ServiceError


class Command(BaseCommand):
    help = "Register a template source: a Git URL or local path whose matching tags are versions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="Git URL, file:// URL or local path")
        parser.add_argument(
            "--ref-pattern", default="", help="Tag pattern (default v*), or the branch name"
        )
        parser.add_argument(
            "--branch", action="store_true", help="A 'latest' channel: the branch --ref-pattern"
        )
        parser.add_argument(
            "--path", action="append", default=[], help="A sub-path holding a template (repeat)"
        )
        parser.add_argument(
            "--signing-key-file", help="GPG public key (armored) or SSH allowed-signers file"
        )
        parser.add_argument("--sync", action="store_true", help="Sync it now, in this process")

    def handle(self, *args: Any, **options: Any) -> None:
        key = ""
        if options["signing_key_file"]:
            key = Path(options["signing_key_file"]).read_text(encoding="utf-8")
        try:
            source = sources.register_source(
                None,
                options["url"],
                ref_pattern=options["ref_pattern"],
                ref_type=SourceRefType.BRANCH if options["branch"] else SourceRefType.TAGS,
                paths=options["path"],
                signing_key=key,
            )
        except ServiceError as exc:
            raise CommandError(f"{exc.field or 'error'}: {exc.message}") from exc
        self.stdout.write(f"registered template source {source.pk}: {source}")
        if options["sync"]:
            result = sources.sync_source(source).as_json()
            for item in result["created"]:
                self.stdout.write(self.style.SUCCESS(f"created   {item}"))
            for ref, reason in {**result["refused"], **result["failed"]}.items():
                self.stderr.write(self.style.ERROR(f"skipped   {ref}: {reason}"))
            if not result["ok"]:
                raise CommandError(result["error"] or "some tags were not loaded (see above)")
