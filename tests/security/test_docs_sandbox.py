"""Docs builds are untrusted code (issue 24, findings 1, 2 and 8).

Attacks go through the surface a member uses: the portal's "Build docs" button (with CSRF)
queues a build, and the task the button queues runs it, on a real local git repository with
the real `git` and `mkdocs`. The sandbox primitive itself (empty environment, no files
outside its copy, no network, limits) is tested directly with a small Python program, since
no allowed mkdocs.yml can run code in a build any more.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog.choices import DocsStatus, EntityKind, EntityOrigin, LocationType
from catalog.models import DocsBuild, Entity, Location
from catalog.software import tasks
from catalog.software.services import docs
from tests.helpers import git
from tests.utils import STRICT, need

MKDOCS_YML = "site_name: Payments API\nnav:\n  - Home: index.md\n"
INDEX_MD = "# Payments API\n\nHow the payments API settles an invoice.\n"
SECRET = "t0p-s3cret-of-the-worker"


def commit(repo: Path, files: dict[str, str], links: dict[str, str] | None = None) -> None:
    """Write files and symlinks (name -> target) and commit them all."""
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for name, target in (links or {}).items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "docs")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder of the worker outside any checkout, holding a secret file."""
    folder = tmp_path / "worker-files"
    folder.mkdir()
    (folder / "secret.md").write_text(f"# Secret\n\n{SECRET}\n")
    (folder / "secret.txt").write_text(SECRET + "\n")
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "payments-api"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit(path, {"mkdocs.yml": MKDOCS_YML, "docs/index.md": INDEX_MD})
    return path


@pytest.fixture
def component(db: None, teams: dict[str, Any], repo: Path) -> Entity:
    """A component of payments discovered at a Git location a platform admin registered as a
    local path (the one way builds read the worker's disk, kept for tests and admins)."""
    location = Location.objects.create(
        type=LocationType.GIT, target=str(repo), team=teams["payments"]
    )
    return Entity.objects.create(
        kind=EntityKind.COMPONENT,
        name="payments-api",
        owner_ref="group:default/payments",
        team=teams["payments"],
        origin=EntityOrigin.LOCATION,
        location=location,
        annotations={docs.TECHDOCS_REF: "dir:."},
        spec={"type": "service", "lifecycle": "production", "owner": "payments"},
    )


@pytest.fixture
def press_build(
    alice: Any, csrf_client: Callable[[Any, str], tuple[Any, str]]
) -> Callable[[Entity], DocsBuild]:
    """alice (a member of payments) presses "Build docs" in the portal; the worker's task
    runs what the button queued. Returns the finished build."""

    def press(entity: Entity) -> DocsBuild:
        base = f"/catalog/entities/component/{entity.namespace}/{entity.name}/"
        client, token = csrf_client(alice, base + "docs/")
        response = client.post(base + "docs-build/", HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 302, response.status_code
        queued = DocsBuild.objects.get(entity=entity, status=DocsStatus.QUEUED)
        assert tasks.build_docs(queued.pk) in (DocsStatus.SUCCEEDED, DocsStatus.FAILED)
        return DocsBuild.objects.get(pk=queued.pk)

    return press


def refused(build: DocsBuild, *needles: str) -> None:
    assert build.status == DocsStatus.FAILED, build.log
    for needle in needles:
        assert needle in build.log, build.log
    assert build.files == {}
    assert SECRET not in build.log


# --- Finding 1: repository files rendered as templates, options that run code ---------


@pytest.mark.slow
def test_extra_templates_with_a_jinja_payload_is_refused_and_nothing_runs(
    component: Entity, repo: Path, tmp_path: Path, outside: Path, press_build: Any
) -> None:
    marker = tmp_path / "pwned"
    payload = (
        "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
        "{{ cycler.__init__.__globals__.os.environ }}"
        "{{ cycler.__init__.__globals__.__builtins__.open('"
        + str(outside / "secret.txt")
        + "').read() }}"
    )
    commit(
        repo,
        {
            "mkdocs.yml": MKDOCS_YML + "extra_templates:\n  - evil.html\n",
            "docs/evil.html": payload,
        },
    )

    build = press_build(component)

    refused(build, "'extra_templates'", "not allowed")
    assert not marker.exists()


CONFIG_VARIANTS = [
    # Options that make MkDocs render or load files of the repository as code or templates.
    ("theme:\n  name: material\n  custom_dir: overrides\n", "'theme.custom_dir'"),
    ("theme:\n  name: material\n  static_templates: [evil.html]\n", "'theme.static_templates'"),
    ("theme: evil-theme\n", "'theme.name'"),
    ("theme:\n  name: material\n  icon:\n    logo: ../../../../etc/x\n", "'theme.icon.logo'"),
    ("hooks:\n  - evil.py\n", "'hooks'"),
    ("INHERIT: ../base.yml\n", "'INHERIT'"),
    ("watch: [/etc]\n", "'watch'"),
    ("mdx_configs: {}\n", "'mdx_configs'"),
    ("plugins:\n  - macros\n", "'plugins.macros'"),
    ("plugins:\n  - monorepo\n", "'plugins.monorepo'"),
    ("plugins:\n  - techdocs-core:\n      evil: 1\n", "'plugins.techdocs-core.evil'"),
    ("plugins:\n  search:\n    prebuild_index: true\n", "'plugins.search.prebuild_index'"),
    # Markdown extensions that include files or fetch URLs.
    (
        "markdown_extensions:\n  - pymdownx.snippets:\n      base_path: [/]\n",
        "'markdown_extensions.pymdownx.snippets.base_path'",
    ),
    (
        "markdown_extensions:\n  - pymdownx.snippets:\n      restrict_base_path: false\n",
        "'markdown_extensions.pymdownx.snippets.restrict_base_path'",
    ),
    (
        "markdown_extensions:\n  - pymdownx.snippets:\n      url_download: true\n",
        "'markdown_extensions.pymdownx.snippets.url_download'",
    ),
    (
        "markdown_extensions:\n  - plantuml_markdown:\n      base_dir: /\n",
        "'markdown_extensions.plantuml_markdown.base_dir'",
    ),
    (
        "markdown_extensions:\n  - plantuml_markdown:\n      server: http://169.254.169.254/\n",
        "'markdown_extensions.plantuml_markdown.server'",
    ),
    ("markdown_extensions:\n  - markdown_include.include\n", "'markdown_include.include'"),
    ("markdown_extensions:\n  - pymdownx.b64\n", "'pymdownx.b64'"),
    (
        "markdown_extensions:\n  - pymdownx.superfences:\n      custom_fences: []\n",
        "'markdown_extensions.pymdownx.superfences.custom_fences'",
    ),
    # The monorepo plugin's nav includes, of files outside the checkout.
    ("nav:\n  - Other: '!include /etc/evil/mkdocs.yml'\n", "'nav'"),
    ("nav:\n  - Other: '!include ../../mkdocs.yml'\n", "'nav'"),
    ("nav:\n  - '*include */mkdocs.yml'\n", "'nav'"),
    # YAML tags that run Python or read the worker's environment or files.
    ("site_url: !!python/object/apply:os.system ['true']\n", "!!python/object/apply"),
    ("site_url: !relative $config_dir\n", "'!relative'"),
    # Anything unknown, by name.
    ("dev_addr: 0.0.0.0:80\nsomething_new: 1\n", "'dev_addr'"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("extra", "needle"), CONFIG_VARIANTS)
def test_options_outside_the_allow_list_are_refused_by_name(
    component: Entity, repo: Path, press_build: Any, extra: str, needle: str
) -> None:
    commit(repo, {"mkdocs.yml": MKDOCS_YML + extra})

    build = press_build(component)

    refused(build, needle)


@pytest.mark.slow
def test_an_allowed_configuration_still_builds(
    component: Entity, repo: Path, press_build: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDP_CANARY_SECRET", SECRET)
    commit(
        repo,
        {
            "mkdocs.yml": (
                "site_name: !ENV [IDP_CANARY_SECRET, Payments API]\n"
                "site_description: How payments work\n"
                "repo_url: https://github.com/acme/payments\n"
                "edit_uri: edit/main/docs/\n"
                "nav:\n  - Home: index.md\n  - Part: part.md\n"
                "theme:\n  name: material\n  features: [navigation.tabs]\n"
                "  palette:\n    - scheme: default\n      primary: indigo\n"
                "plugins:\n  - techdocs-core:\n      use_material_search: false\n"
                "markdown_extensions:\n  - toc:\n      permalink: true\n  - admonition\n"
                "  - pymdownx.snippets:\n      check_paths: true\n  - pymdownx.superfences\n"
                "extra:\n  social:\n    - icon: fontawesome/brands/github\n"
                "      link: https://github.com/acme\n"
            ),
            "docs/part.md": '# Part\n\nIncluded here:\n\n--8<-- "docs/snippet.txt"\n',
            "docs/snippet.txt": "a snippet from inside the repository\n",
        },
    )

    build = press_build(component)

    assert build.status == DocsStatus.SUCCEEDED, build.log
    assert "a snippet from inside the repository" in build.files["part/index.html"]
    assert "Payments API" in build.files["index.html"]
    assert SECRET not in str(build.files) and SECRET not in build.log


@pytest.mark.slow
@pytest.mark.parametrize("include", ["{secret}", "../../worker-files/secret.txt"])
def test_markdown_cannot_include_a_file_outside_the_checkout(
    component: Entity, repo: Path, outside: Path, press_build: Any, include: str
) -> None:
    commit(
        repo,
        {
            "docs/index.md": (
                f'# Payments\n\n--8<-- "{include.format(secret=outside / "secret.txt")}"\n'
            )
        },
    )

    build = press_build(component)

    assert SECRET not in str(build.files) and SECRET not in build.log


# --- Finding 2: symlinks that leave the checkout, through linked directories too --------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("links", "where"),
    [
        # A linked directory inside docs/ pointing outside.
        ({"docs/leak": "{outside}"}, "docs/leak"),
        # A directory link that stays inside the repository, to a folder whose entries leave
        # it (os.walk without following links never looked there; MkDocs follows them).
        ({"docs/linked": "../other", "other/secret.md": "{outside}/secret.md"}, "secret.md"),
        # A chain two levels deep: docs/a -> docs/b -> outside.
        ({"docs/b.md": "{outside}/secret.md", "docs/a.md": "b.md"}, "docs/"),
        # Into the clone's .git (a remote's credentials live in .git/config).
        ({"docs/config.md": "../.git/config"}, "docs/config.md"),
    ],
)
def test_links_leaving_the_checkout_are_refused_at_any_depth(
    component: Entity,
    repo: Path,
    outside: Path,
    press_build: Any,
    links: dict[str, str],
    where: str,
) -> None:
    commit(
        repo,
        {"other/readme.txt": "x\n"},
        {name: target.format(outside=outside) for name, target in links.items()},
    )

    build = press_build(component)

    refused(build, "outside the repository", where)


# --- Finding 8: SSRF through techdocs-ref url: ------------------------------------------


SSRF_URLS = [
    ("http://github.com/acme/docs.git", "https"),
    ("git://github.com/acme/docs.git", "https"),
    ("file:///etc", "https"),
    ("ext::sh -c touch% /tmp/pwned", "https"),
    ("-uhelp", "https"),
    ("https://127.0.0.1/acme/docs.git", "127.0.0.1"),
    ("https://localhost/acme/docs.git", "localhost"),
    ("https://localhost./acme/docs.git", "localhost."),
    ("https://2130706433/acme/docs.git", "2130706433"),
    ("https://0177.0.0.1/acme/docs.git", "0177.0.0.1"),
    ("https://0x7f.1/acme/docs.git", "0x7f.1"),
    ("https://[::1]/acme/docs.git", "::1"),
    ("https://[::ffff:127.0.0.1]/acme/docs.git", "::ffff:127.0.0.1"),
    ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
    ("https://10.0.0.8/acme/docs.git", "10.0.0.8"),
    ("https://[fd00::1]/acme/docs.git", "fd00::1"),
    ("https://0.0.0.0/acme/docs.git", "0.0.0.0"),
    ("ssh://git@127.0.0.1/acme/docs.git", "127.0.0.1"),
    ("git@127.0.0.1:acme/docs.git", "127.0.0.1"),
    ("https://user:tok3n@192.168.1.1/acme/docs.git", "192.168.1.1"),
]


@pytest.mark.parametrize(("url", "needle"), SSRF_URLS)
def test_techdocs_url_to_a_private_address_or_other_scheme_is_refused(
    component: Entity, press_build: Any, url: str, needle: str
) -> None:
    component.annotations = {docs.TECHDOCS_REF: f"url:{url}"}
    component.save()

    build = press_build(component)

    refused(build, needle)
    assert "git clone failed" not in build.log
    assert "tok3n" not in build.log


def test_a_private_host_a_platform_admin_allows_is_fetched(
    component: Entity, press_build: Any, settings: Any
) -> None:
    settings.IDP_DOCS_ALLOWED_HOSTS = ["127.0.0.1"]
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
    component.annotations = {docs.TECHDOCS_REF: f"url:https://127.0.0.1:{port}/acme/docs.git"}
    component.save()

    build = press_build(component)

    assert build.status == DocsStatus.FAILED
    assert "git clone failed" in build.log, build.log


def test_a_service_repository_on_a_private_address_is_refused(
    component: Entity, press_build: Any, teams: dict[str, Any]
) -> None:
    from catalog.models import Service

    service = Service.objects.create(
        name="Payments API",
        slug="payments-api",
        team=teams["payments"],
        repository_url="https://[::1]/acme/x.git",
    )
    component.location = None
    component.service = service
    component.annotations = {}
    component.save()

    build = press_build(component)

    refused(build, "::1")


# --- The sandbox primitive --------------------------------------------------------------


def isolation() -> Any:
    from catalog.software.services import docs_sandbox

    return docs_sandbox.isolation()


def run_python(tmp_path: Path, code: str, **limits: Any) -> tuple[Any, Path]:
    """Run a small Python program in the docs sandbox with a copy and an output folder."""
    from catalog.software.services import docs_sandbox

    work = tmp_path / "box"
    copy = work / "copy"
    out = work / "out"
    copy.mkdir(parents=True)
    out.mkdir()
    (copy / "hello.txt").write_text("inside\n")
    result = docs_sandbox.run(
        [*docs_sandbox.python_command(), "-c", code],
        readable=[copy],
        writable=[out],
        cwd=copy,
        limits=docs_sandbox.Limits(**limits) if limits else docs_sandbox.Limits(),
    )
    return result, out


def test_the_sandbox_has_an_empty_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDP_CANARY_SECRET", SECRET)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings.dev")

    result, _ = run_python(
        tmp_path, "import os, sys; print(sorted(os.environ.items())); print(sorted(sys.modules))"
    )

    assert result.returncode == 0, result.output
    assert SECRET not in result.output
    assert "DJANGO_SETTINGS_MODULE" not in result.output and "django" not in result.output
    assert "'HOME'" in result.output and "'PATH'" in result.output


def test_the_sandbox_reads_its_copy_but_no_file_outside_it(tmp_path: Path, outside: Path) -> None:
    iso = isolation()
    need(iso.filesystem or iso.user, f"no file isolation here: {iso.describe()}")
    secret = outside / "secret.txt"
    if not iso.filesystem:
        secret.chmod(0o600)  # only a dropped user protects a private file
    code = (
        "print(open('hello.txt').read().strip())\n"
        "try:\n"
        f"    print(open({str(secret)!r}).read())\n"
        "except OSError as exc:\n"
        "    print('refused', type(exc).__name__)\n"
    )

    result, _ = run_python(tmp_path, code)

    assert result.returncode == 0, result.output
    assert "inside" in result.output and "refused" in result.output
    assert SECRET not in result.output


def test_the_sandbox_cannot_open_a_socket(tmp_path: Path) -> None:
    iso = isolation()
    if not iso.network and not STRICT:
        pytest.skip(f"this OS cannot isolate the network: {iso.describe()}")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        accepted: list[Any] = []

        def accept() -> None:
            with contextlib.suppress(TimeoutError):  # nobody connecting is the expected end
                accepted.append(server.accept())

        thread = threading.Thread(target=accept, daemon=True)
        server.settimeout(10)
        thread.start()
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), 3)\n"
            "    print('connected')\n"
            "except OSError as exc:\n"
            "    print('refused', exc)\n"
        )

        result, _ = run_python(tmp_path, code)

    assert result.returncode == 0, result.output
    assert "refused" in result.output and "connected" not in result.output
    assert not accepted


@pytest.mark.slow
def test_the_sandbox_stops_a_runaway_build(tmp_path: Path) -> None:
    forever, _ = run_python(tmp_path / "a", "while True: pass", wall_seconds=3, cpu_seconds=2)
    assert forever.returncode != 0
    assert forever.timed_out or "CPU time limit" in forever.output, forever.output

    memory, _ = run_python(
        tmp_path / "b", "x = bytearray(3 * 1024 ** 3)\nprint('allocated')", memory_bytes=512 << 20
    )
    assert memory.returncode != 0 and "allocated" not in memory.output

    big, out = run_python(
        tmp_path / "c",
        "import os, sys\n"
        "out = sys.argv[0] if False else None\n"
        "for i in range(1000):\n"
        f"    open(os.path.join({str(tmp_path / 'c' / 'box' / 'out')!r}, f'f{{i}}'), 'wb')"
        ".write(b'x' * (1 << 20))\n",
        output_bytes=8 << 20,
    )
    assert big.returncode != 0 and big.too_large, big.output
    # The watchdog polls: a writer gets past the cap by what it writes between two looks,
    # far from the 1,000 MB it tried.
    assert sum(p.stat().st_size for p in out.iterdir()) < 256 << 20


def test_the_build_log_says_what_the_sandbox_could_do(component: Entity, press_build: Any) -> None:
    build = press_build(component)

    assert build.status == DocsStatus.SUCCEEDED, build.log
    assert "sandbox:" in build.log
    iso = isolation()
    if not iso.network:
        assert "network isolation unavailable" in build.log


def test_the_clone_follows_no_redirect(tmp_path: Path) -> None:
    """A public Git host that answers with a redirect to an internal address: git must not
    follow it (plain http stands in for https here; only the redirect rule is under test)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from catalog.services import gitrepo
    from catalog.software.services import docs_remote

    hits: list[str] = []

    class Internal(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    internal = ThreadingHTTPServer(("127.0.0.1", 0), Internal)

    class Redirecting(Internal):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{internal.server_port}{self.path}")
            self.end_headers()

    public = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    for server in (internal, public):
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
    url = f"http://127.0.0.1:{public.server_port}/acme/docs.git"
    env = gitrepo.clean_env(tmp_path)
    try:
        # Control: git's default follows the redirect to the internal server.
        default = tuple(c for c in docs_remote.GIT_CONFIG if "followRedirects" not in c)
        with pytest.raises(gitrepo.GitError):
            gitrepo.run_git(
                ["ls-remote", url],
                cwd=None,
                env=env,
                config=(*default, "protocol.http.allow=always"),
            )
        assert hits, "the control did not reach the internal server"
        hits.clear()

        with pytest.raises(gitrepo.GitError) as refused_redirect:
            gitrepo.run_git(
                ["ls-remote", url],
                cwd=None,
                env=env,
                config=(*docs_remote.GIT_CONFIG, "protocol.http.allow=always"),
            )
        assert hits == []
        assert "302" in str(refused_redirect.value) or "redirect" in str(refused_redirect.value)
    finally:
        for server in (internal, public):
            server.shutdown()
            server.server_close()


# --- Refused when the descriptor is imported, not only when docs are built ----------------

COMPONENT_WITH_DOCS = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: docs-probe
  annotations:
    backstage.io/techdocs-ref: "url:{url}"
spec:
  type: service
  lifecycle: production
  owner: payments
"""


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/docs.git",
        "git://example.com/docs.git",
        "file:///etc/passwd",
        "https://127.0.0.1/docs.git",
        "https://2130706433/docs.git",
        "https://0177.0.0.1/docs.git",
        "https://0x7f.1/docs.git",
        "https://[::1]/docs.git",
        "https://[::ffff:127.0.0.1]/docs.git",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/docs.git",
        "https://localhost./docs.git",
        "ssh://git@192.168.0.1/docs.git",
    ],
)
def test_an_import_naming_a_private_or_plain_docs_url_is_a_400(
    api_as: Any, bob: Any, url: str
) -> None:
    response = api_as(bob).post(
        "/api/v1/catalog/import/",
        {"content": COMPONENT_WITH_DOCS.format(url=url), "dry_run": False},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert "backstage.io/techdocs-ref" in json.dumps(response.json())
    assert not Entity.objects.filter(name="docs-probe").exists()


def test_an_import_naming_a_public_https_docs_url_is_accepted(api_as: Any, bob: Any) -> None:
    response = api_as(bob).post(
        "/api/v1/catalog/import/",
        {
            "content": COMPONENT_WITH_DOCS.format(url="https://github.com/acme/docs"),
            "dry_run": True,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
