"""The `mkdocs.yml` a docs build may have: an allow-list, since the file is untrusted.

Every key, theme option, plugin, plugin option, Markdown extension and extension option must
be named below; anything else is refused by name (`mkdocs.yml: 'extra_templates' is not
allowed …`). What the list leaves out, and why: options that render repository files as
Jinja templates (`extra_templates`, `theme.custom_dir`, `theme.static_templates`) or run
Python (`hooks`, plugins other than techdocs-core and search, extension options that name
Python functions), that read other files (`INHERIT`, `!include` outside the copy, snippets'
`base_path`, plantuml's `base_dir`) or fetch URLs (snippets' `url_download`, plantuml's
`server`), and YAML tags that run code or read the worker's environment (`!ENV` gives its
default, never a variable). The values that remain are data: text, numbers, lists of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 256 * 1024
MAX_VALUES = 5_000  # scalars in one mkdocs.yml, after YAML aliases are expanded
MAX_DEPTH = 12


class ConfigError(Exception):
    """The mkdocs.yml is refused; the message names the key."""


# --- Reading: MkDocs' tags without running anything -------------------------------------


class _ConfigLoader(yaml.SafeLoader):
    """YAML of mkdocs.yml: `!ENV` sees no variables (its default or nothing); every other
    tag (`!relative`, `!!python/...`) is refused."""


def _env_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        items = loader.construct_sequence(node)
        return items[-1] if len(items) > 1 else None
    return None


def _refuse_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    raise ConfigError(f"mkdocs.yml: the YAML tag {tag!r} is not allowed in docs builds.")


_ConfigLoader.add_constructor("!ENV", _env_tag)
_ConfigLoader.add_multi_constructor("!", _refuse_tag)
_ConfigLoader.add_multi_constructor("tag:yaml.org,2002:python/", _refuse_tag)


def load(path: Path) -> dict[str, Any]:
    """The mapping of an mkdocs.yml, read safely."""
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path.name} is larger than {MAX_CONFIG_BYTES // 1024} KB.")
    try:
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name} is not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name} is not UTF-8 text.") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path.name} must be a mapping (site_name: …).")
    return config


# --- Checking values --------------------------------------------------------------------


def _refuse(key: str, why: str = "") -> ConfigError:
    return ConfigError(f"mkdocs.yml: {key!r} is not allowed in docs builds{why}.")


def _data(value: Any, key: str, count: list[int], depth: int = 0) -> None:
    """Plain data: text, numbers, booleans, lists and mappings of them, bounded."""
    count[0] += 1
    if count[0] > MAX_VALUES or depth > MAX_DEPTH:
        raise ConfigError(f"mkdocs.yml: {key!r} is too large or too deep.")
    if value is None or isinstance(value, str | int | float | bool):
        return
    if isinstance(value, list):
        for item in value:
            _data(item, key, count, depth + 1)
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str | int | float | bool):
                raise ConfigError(f"mkdocs.yml: {key!r} has a key that is not text.")
            _data(item, f"{key}.{name}", count, depth + 1)
        return
    raise ConfigError(f"mkdocs.yml: {key!r} is not plain data.")


def _options(
    value: Any, key: str, allowed: frozenset[str], count: list[int], why: str = ""
) -> None:
    """A mapping of options (or nothing), every name allowed, every value plain data."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise ConfigError(f"mkdocs.yml: {key!r} must be a mapping of options.")
    for name, item in value.items():
        if str(name) not in allowed:
            raise _refuse(f"{key}.{name}", why)
        _data(item, f"{key}.{name}", count)


def _text(value: Any, key: str) -> None:
    if value is not None and not isinstance(value, str | int | float):
        raise ConfigError(f"mkdocs.yml: {key!r} must be text.")


def _flag(value: Any, key: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"mkdocs.yml: {key!r} must be true or false.")


# --- The allow-list ---------------------------------------------------------------------

TEXT_KEYS = frozenset(
    {
        "site_name",
        "site_url",
        "site_description",
        "site_author",
        "copyright",
        "repo_url",
        "repo_name",
        "edit_uri",
        "edit_uri_template",
        "remote_branch",
        "remote_name",
    }
)
FLAG_KEYS = frozenset({"use_directory_urls", "strict"})
DATA_KEYS = frozenset({"extra", "extra_css", "extra_javascript", "validation"})
PATTERN_KEYS = frozenset({"exclude_docs", "not_in_nav", "draft_docs"})
# Keys with their own check below: docs_dir, site_dir, nav, theme, plugins, markdown_extensions.
WHY = {
    "extra_templates": " (MkDocs renders those files as unsandboxed Jinja templates)",
    "hooks": " (hooks are Python code)",
    "INHERIT": " (it reads another file)",
    "custom_dir": " (its files are rendered as templates)",
    "static_templates": " (its files are rendered as templates)",
}

THEMES = frozenset({"material", "mkdocs", "readthedocs"})
THEME_OPTIONS = frozenset(
    {
        "name",
        "language",
        "locale",
        "direction",
        "features",
        "palette",
        "font",
        "icon",
        "logo",
        "favicon",
        "highlightjs",
        "hljs_languages",
        "hljs_style",
        "hljs_style_dark",
        "navigation_depth",
        "nav_style",
        "shortcuts",
        "color_mode",
        "user_color_mode_toggle",
        "analytics",
        "sticky_navigation",
        "collapse_navigation",
        "titles_only",
        "include_homepage_in_sidebar",
        "prev_next_buttons_location",
        "style_nav_header_background",
    }
)
# An icon names a file the theme includes: letters, digits, '-', '_' and '/', no '..'.
ICON = re.compile(r"^[\w-]+(/[\w-]+)*$")

PLUGINS: dict[str, frozenset[str]] = {
    "techdocs-core": frozenset({"use_material_search", "use_pymdownx_blocks"}),
    "search": frozenset({"lang", "separator", "min_search_length"}),
}

_NONE: frozenset[str] = frozenset()
MARKDOWN_EXTENSIONS: dict[str, frozenset[str]] = {
    # Python-Markdown's own.
    "abbr": _NONE,
    "admonition": _NONE,
    "attr_list": _NONE,
    "codehilite": frozenset(
        {"linenums", "guess_lang", "css_class", "pygments_style", "noclasses", "use_pygments"}
    ),
    "def_list": _NONE,
    "extra": _NONE,
    "fenced_code": frozenset({"lang_prefix"}),
    "footnotes": frozenset(
        {"PLACE_MARKER", "UNIQUE_IDS", "BACKLINK_TEXT", "BACKLINK_TITLE", "SUPERSCRIPT_TEXT"}
    ),
    "legacy_attrs": _NONE,
    "legacy_em": _NONE,
    "md_in_html": _NONE,
    "meta": _NONE,
    "nl2br": _NONE,
    "sane_lists": _NONE,
    "smarty": frozenset({"smart_dashes", "smart_quotes", "smart_angled_quotes", "smart_ellipses"}),
    "tables": frozenset({"use_align_attribute"}),
    "toc": frozenset(
        {
            "marker",
            "title",
            "title_class",
            "toc_class",
            "anchorlink",
            "anchorlink_class",
            "permalink",
            "permalink_class",
            "permalink_title",
            "permalink_leading",
            "baselevel",
            "separator",
            "toc_depth",
        }
    ),
    "wikilinks": frozenset({"base_url", "end_url", "html_class"}),
    # pymdown-extensions (not b64: it embeds local files; options naming Python functions,
    # such as superfences' custom_fences or emoji's generators, are left out).
    "pymdownx.arithmatex": frozenset(
        {"generic", "tex_inline_wrap", "tex_display_wrap", "smart_dollar", "preview"}
    ),
    "pymdownx.betterem": frozenset({"smart_enable"}),
    "pymdownx.blocks.admonition": frozenset({"types"}),
    "pymdownx.blocks.definition": _NONE,
    "pymdownx.blocks.details": frozenset({"types"}),
    "pymdownx.blocks.html": _NONE,
    "pymdownx.blocks.tab": frozenset({"alternate_style", "combine_header_slug"}),
    "pymdownx.caret": frozenset({"smart_insert", "insert", "superscript"}),
    "pymdownx.critic": frozenset({"mode"}),
    "pymdownx.details": _NONE,
    "pymdownx.emoji": _NONE,
    "pymdownx.escapeall": frozenset({"hardbreak", "nbsp"}),
    "pymdownx.extra": _NONE,
    "pymdownx.fancylists": _NONE,
    "pymdownx.highlight": frozenset(
        {
            "css_class",
            "guess_lang",
            "pygments_style",
            "noclasses",
            "use_pygments",
            "linenums",
            "linenums_style",
            "linenums_special",
            "anchor_linenums",
            "line_spans",
            "line_anchors",
            "auto_title",
            "pygments_lang_class",
            "language_prefix",
            "code_attr_on_pre",
            "default_lang",
        }
    ),
    "pymdownx.inlinehilite": frozenset({"css_class", "style_plain_text"}),
    "pymdownx.keys": frozenset({"separator", "strict", "camel_case"}),
    "pymdownx.magiclink": frozenset(
        {
            "hide_protocol",
            "link_length",
            "repo_url_shortener",
            "repo_url_shorthand",
            "social_url_shortener",
            "social_url_shorthand",
            "provider",
            "user",
            "repo",
            "normalize_issue_symbols",
        }
    ),
    "pymdownx.mark": frozenset({"smart_mark"}),
    "pymdownx.progressbar": frozenset({"level_class", "add_classes", "progress_increment"}),
    "pymdownx.saneheaders": _NONE,
    "pymdownx.smartsymbols": frozenset(
        {
            "trademark",
            "copyright",
            "registered",
            "plusminus",
            "arrows",
            "notequal",
            "fractions",
            "ordinal_numbers",
            "care_of",
        }
    ),
    # Snippets: only from inside the copy (base_path and the rest are pinned below).
    "pymdownx.snippets": frozenset({"check_paths"}),
    "pymdownx.striphtml": frozenset({"strip_comments", "strip_js_on_attributes"}),
    "pymdownx.superfences": frozenset(
        {"disable_indented_code_blocks", "preserve_tabs", "css_class"}
    ),
    "pymdownx.tabbed": frozenset({"alternate_style", "combine_header_slug"}),
    "pymdownx.tasklist": frozenset({"custom_checkbox", "clickable_checkbox"}),
    "pymdownx.tilde": frozenset({"smart_delete", "delete", "subscript"}),
    # What techdocs-core adds itself, named again (without their file or server options).
    "markdown_inline_graphviz": _NONE,
    "mdx_truly_sane_lists": frozenset({"nested_indent", "truly_sane"}),
    "plantuml_markdown": frozenset({"format", "classes", "title", "alt", "priority"}),
}
# Snippets never leave the copy, never download (the copy is the build's working folder).
SNIPPETS_PINNED = {"base_path": ["."], "restrict_base_path": True, "url_download": False}
NAV_INCLUDE = "!include "


def _check_theme(value: Any, count: list[int]) -> None:
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise ConfigError("mkdocs.yml: 'theme' must be a name or a mapping.")
    for name in value:
        if name not in THEME_OPTIONS:
            raise _refuse(f"theme.{name}", WHY.get(str(name), ""))
    if value.get("name") not in THEMES:
        raise ConfigError(
            f"mkdocs.yml: 'theme.name' {value.get('name')!r} is not allowed in docs builds;"
            f" use one of {', '.join(sorted(THEMES))}."
        )
    for name, item in value.items():
        _data(item, f"theme.{name}", count)
    icons = value.get("icon") or {}
    if not isinstance(icons, dict):
        raise ConfigError("mkdocs.yml: 'theme.icon' must be a mapping.")
    for name, icon in _leaves(icons, "theme.icon"):
        if not isinstance(icon, str) or not ICON.match(icon):
            raise ConfigError(f"mkdocs.yml: {name!r} must name an icon (letters, '-', '/').")


def _leaves(value: Any, key: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _leaves(v, f"{key}.{k}")]
    return [(key, value)]


def _entries(value: Any, key: str) -> list[tuple[str, Any]]:
    """(name, options) of a list of names/single-key mappings, or of a mapping."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if not isinstance(value, list):
        raise ConfigError(f"mkdocs.yml: {key!r} must be a list.")
    entries = []
    for item in value:
        if isinstance(item, str):
            entries.append((item, None))
        elif isinstance(item, dict) and len(item) == 1:
            name, options = next(iter(item.items()))
            entries.append((str(name), options))
        else:
            raise ConfigError(f"mkdocs.yml: {key!r} entry {item!r} is not a name.")
    return entries


def _check_plugins(value: Any, count: list[int]) -> list[Any]:
    plugins: list[Any] = []
    for name, options in _entries(value, "plugins"):
        if name not in PLUGINS:
            raise ConfigError(
                f"mkdocs.yml: 'plugins.{name}' is not allowed in docs builds (plugins are"
                f" code); docs builds run {', '.join(sorted(PLUGINS))}."
            )
        _options(options, f"plugins.{name}", PLUGINS[name], count)
        for option in ("use_material_search", "use_pymdownx_blocks"):
            if isinstance(options, dict) and option in options:
                _flag(options[option], f"plugins.{name}.{option}")
        plugins.append({name: options} if options else name)
    if "techdocs-core" not in [p if isinstance(p, str) else next(iter(p)) for p in plugins]:
        plugins.append("techdocs-core")
    return plugins


def _check_extensions(value: Any, count: list[int]) -> list[Any]:
    extensions: list[Any] = []
    for name, options in _entries(value, "markdown_extensions"):
        short = name.removeprefix("markdown.extensions.")
        if short not in MARKDOWN_EXTENSIONS:
            raise ConfigError(
                f"mkdocs.yml: markdown extension {name!r} is not allowed in docs builds."
            )
        _options(options, f"markdown_extensions.{name}", MARKDOWN_EXTENSIONS[short], count)
        if short == "pymdownx.snippets":
            options = {**(options or {}), **SNIPPETS_PINNED}
        extensions.append({name: options} if options else name)
    return extensions


def _check_nav(value: Any, copy: Path, count: list[int], *, nested: bool = False) -> None:
    """Navigation is data, except the monorepo plugin's `!include sub/mkdocs.yml`, allowed
    for a file inside the copy whose own keys pass the same checks."""
    _data(value, "nav", count)
    for key, item in _leaves_of_nav(value):
        if not isinstance(item, str):
            continue
        text = item.strip()
        if text.startswith("*include"):
            raise ConfigError("mkdocs.yml: 'nav' wildcard includes are not allowed in builds.")
        if not text.startswith(NAV_INCLUDE):
            continue
        if nested:
            raise ConfigError("mkdocs.yml: 'nav' includes inside included files are refused.")
        target = text[len(NAV_INCLUDE) :].strip()
        path = Path(copy, target).resolve()
        if not path.is_relative_to(copy.resolve()) or path.suffix not in (".yml", ".yaml"):
            raise ConfigError(
                f"mkdocs.yml: 'nav' includes {target!r}, outside the repository's docs."
            )
        if not path.is_file():
            raise ConfigError(f"mkdocs.yml: 'nav' includes {target!r}, which does not exist.")
        included = load(path)
        for name in included:
            if name not in ("site_name", "docs_dir", "nav", "repo_url", "edit_uri"):
                raise _refuse(f"{target}: {name}")
        docs_dir_of(included, path.parent, copy)
        if "nav" in included:
            _check_nav(included["nav"], copy, count, nested=True)
        del key


def _leaves_of_nav(value: Any, key: str = "nav") -> list[tuple[str, Any]]:
    if isinstance(value, list):
        return [pair for item in value for pair in _leaves_of_nav(item, key)]
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _leaves_of_nav(v, f"{key}.{k}")]
    return [(key, value)]


def docs_dir_of(config: dict[str, Any], base: Path, copy: Path) -> Path:
    """The docs folder a config names, which must be inside the copy."""
    name = config.get("docs_dir") or "docs"
    _text(name, "docs_dir")
    path = (base / str(name)).resolve()
    if not path.is_relative_to(copy.resolve()):
        raise ConfigError(f"mkdocs.yml: 'docs_dir' {name!r} is outside the repository.")
    return path


def _check_key(key: str, value: Any, count: list[int]) -> None:
    """One top-level key (not docs_dir, nav, plugins or markdown_extensions)."""
    if key in TEXT_KEYS or key == "site_dir":  # site_dir is replaced by the build's own
        _text(value, key)
    elif key in FLAG_KEYS:
        _flag(value, key)
    elif key in DATA_KEYS or key in PATTERN_KEYS:
        _data(value, key, count)
    elif key == "theme":
        _check_theme(value, count)
    else:
        raise _refuse(key, WHY.get(key, ""))


def checked(config: dict[str, Any], copy: Path, site_dir: Path) -> dict[str, Any]:
    """The configuration MkDocs runs: every key checked against the allow-list, techdocs-core
    as plugin, snippets pinned to the copy, the site in the build's output folder. Raises
    ConfigError naming the first key refused."""
    count = [0]
    special = {"docs_dir", "nav", "plugins", "markdown_extensions"}
    for key, value in config.items():
        if key in special:
            continue
        _check_key(str(key), value, count)
    docs_dir = docs_dir_of(config, copy, copy)
    if not docs_dir.is_dir():
        raise ConfigError(f"No {docs_dir.name}/ folder next to mkdocs.yml.")
    if "nav" in config:
        _check_nav(config["nav"], copy, count)
    result = dict(config)
    result.update(
        {
            "plugins": _check_plugins(config.get("plugins"), count),
            "markdown_extensions": _check_extensions(config.get("markdown_extensions"), count),
            "docs_dir": str(docs_dir),
            "site_dir": str(site_dir),
        }
    )
    result.setdefault("site_name", "Docs")
    return result


__all__ = ["ConfigError", "checked", "load"]
