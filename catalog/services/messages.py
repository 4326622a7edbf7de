"""Parameter validation errors as sentences people read, never a regex or a schema dump.

One place turns a JSON Schema error into the words the portal form, the API (field ->
messages) and the CLI all show. A template's own words win: `error_message` in
`template.yaml`'s parameter refinements (`x-error-message`), then the Terraform
`validation { error_message }` of the rule that failed (`x-error-message-for`), except
for a pattern we can describe exactly ourselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema.exceptions import ValidationError

from idp.templatetags.values import to_json_text

from .. import sensitivity

# Enums longer than this are not listed in a message; the template page lists them.
ENUM_LISTED = 10

_TYPE_WORDS = {
    "string": "Enter text",
    "integer": "Enter a whole number",
    "number": "Enter a number",
    "boolean": "Choose true or false",
    "object": 'Enter a JSON object, e.g. {"key": "value"}',
    "array": 'Enter a JSON list, e.g. ["a", "b"]',
    "null": "Leave it empty",
}
_FORMAT_WORDS = {
    "email": "an e-mail address",
    "uri": "URL",
    "date": "date (YYYY-MM-DD)",
    "date-time": "date and time (YYYY-MM-DDTHH:MM:SSZ)",
    "ipv4": "IPv4 address",
    "ipv6": "IPv6 address",
    "hostname": "host name",
    "uuid": "UUID",
}


def ordered_names(properties: dict[str, Any]) -> list[str]:
    """Property names in the form's order: `x-order` first, then by name. Not the dict's
    order: PostgreSQL's jsonb does not keep the order keys were written in."""
    return sorted(properties, key=lambda name: (properties[name].get("x-order", 1000), name))


def _plural(count: int | float, word: str, plural: str = "") -> str:
    return f"{count:g} {word}" if count == 1 else f"{count:g} {plural or word + 's'}"


# --- Patterns ------------------------------------------------------------------------------


@dataclass
class _CharSet:
    """What one regex atom admits, in words."""

    lower: bool = False
    upper: bool = False
    digits: bool = False
    spaces: bool = False
    anything: bool = False
    ranges: list[str] = field(default_factory=list)
    chars: list[str] = field(default_factory=list)

    def add_char(self, char: str) -> None:
        if char == " ":
            self.spaces = True
        elif char not in self.chars:
            self.chars.append(char)

    def add_range(self, start: str, end: str) -> None:
        if (start, end) == ("a", "z"):
            self.lower = True
        elif (start, end) == ("A", "Z"):
            self.upper = True
        elif (start, end) == ("0", "9"):
            self.digits = True
        else:
            self.ranges.append(f"{start} to {end}")

    def _named(self, singular: bool) -> list[str]:
        words: list[str] = []
        if self.lower and self.upper:
            words.append("a letter" if singular else "letters")
        elif self.lower:
            words.append("a lowercase letter" if singular else "lowercase letters")
        elif self.upper:
            words.append("an uppercase letter" if singular else "uppercase letters")
        if self.digits:
            words.append("a digit" if singular else "digits")
        if self.spaces:
            words.append("a space" if singular else "spaces")
        words.extend(self.ranges)
        return words

    def words(self) -> str:
        """`letters, digits, spaces and , . ! ? -`"""
        parts = self._named(singular=False)
        if self.chars:
            parts.append(" ".join(self.chars))
        if len(parts) == 1:
            return parts[0]
        return ", ".join(parts[:-1]) + " and " + parts[-1]

    def one(self) -> str:
        """`a letter or a digit`, or the character itself when it is one character."""
        parts = self._named(singular=True)
        if self.chars:
            parts.append(
                self.chars[0] if len(self.chars) == 1 else "one of " + " ".join(self.chars)
            )
        return " or ".join(parts)


_ESCAPES = {"d": "digits", "w": "word", "s": "spaces"}
_LITERAL_ESCAPES = set(".-^$[](){}*+?|\\/ _,!@#%&:;=<>'\"~`")


def _escape_into(charset: _CharSet, letter: str) -> bool:
    """Add `\\<letter>` to the set; False when it is an escape we do not describe."""
    if letter == "d":
        charset.digits = True
    elif letter == "w":
        charset.lower = charset.upper = charset.digits = True
        charset.add_char("_")
    elif letter == "s":
        charset.spaces = True
    elif letter in _LITERAL_ESCAPES:
        charset.add_char(letter)
    else:
        return False
    return True


def _read_class(text: str, pos: int) -> tuple[_CharSet, int] | None:
    """The `[...]` starting at `pos` (just after `[`); None for negated or odd classes."""
    charset = _CharSet()
    if pos < len(text) and text[pos] == "^":
        return None
    first = True
    while pos < len(text):
        char = text[pos]
        if char == "]" and not first:
            return charset, pos + 1
        first = False
        if char == "\\":
            if pos + 1 >= len(text) or not _escape_into(charset, text[pos + 1]):
                return None
            pos += 2
            continue
        if char == "[":
            return None  # POSIX classes and nested sets: not described
        if pos + 2 < len(text) and text[pos + 1] == "-" and text[pos + 2] != "]":
            start, end = char, text[pos + 2]
            if start == "\\" or end == "\\" or start > end:
                return None
            charset.add_range(start, end)
            pos += 3
            continue
        charset.add_char(char)
        pos += 1
    return None


_QUANT = re.compile(r"\{(\d+)(,(\d*))?\}|[+*?]")


def _read_quantifier(text: str, pos: int) -> tuple[int, int | None, int]:
    """(min, max or None for unbounded, next position) of the quantifier at `pos`."""
    match = _QUANT.match(text, pos)
    if not match:
        return 1, 1, pos
    token = match.group(0)
    if token == "+":
        return 1, None, match.end()
    if token == "*":
        return 0, None, match.end()
    if token == "?":
        return 0, 1, match.end()
    low = int(match.group(1))
    if match.group(2) is None:
        return low, low, match.end()
    return low, int(match.group(3)) if match.group(3) else None, match.end()


def _atoms(body: str) -> list[tuple[_CharSet, int, int | None]] | None:
    atoms: list[tuple[_CharSet, int, int | None]] = []
    pos = 0
    while pos < len(body):
        char = body[pos]
        if char == "[":
            read = _read_class(body, pos + 1)
            if read is None:
                return None
            charset, pos = read
        elif char == "\\":
            charset = _CharSet()
            if pos + 1 >= len(body) or not _escape_into(charset, body[pos + 1]):
                return None
            pos += 2
        elif char == ".":
            charset, pos = _CharSet(anything=True), pos + 1
        elif char in "()|^$*+?{}":
            return None  # groups and alternatives: fall back to the template's words
        else:
            charset = _CharSet()
            charset.add_char(char)
            pos += 1
        low, high, pos = _read_quantifier(body, pos)
        if pos < len(body) and body[pos] in "?+":
            return None  # lazy or possessive quantifiers
        atoms.append((charset, low, high))
    return atoms


def _length(low: int, high: int | None) -> str:
    if high is not None and low == high:
        return f"exactly {high}"
    if high is None:
        return f"at least {low}" if low > 1 else ""
    if low <= 1:
        return f"at most {high}"
    return f"{low} to {high}"


def describe_pattern(pattern: str) -> str | None:
    """A sentence for an anchored pattern of character classes with length quantifiers.

    `^[A-Za-z0-9 ,.!?-]{1,100}$` -> "Use letters, digits, spaces and , . ! ? - (at most
    100)". None for anything else: the caller falls back to the template's own words.
    """
    empty_ok = False
    if pattern.startswith("^$|"):
        pattern, empty_ok = pattern[3:], True
    if not (pattern.startswith("^") and pattern.endswith("$")) or pattern.endswith("\\$"):
        return None
    atoms = _atoms(pattern[1:-1])
    if not atoms or len(atoms) > 3:
        return None
    low = sum(a[1] for a in atoms)
    highs = [a[2] for a in atoms]
    high = None if None in highs else sum(h for h in highs if h is not None)
    size = _length(low, high)
    fixed = [a for a in atoms if a[1] == a[2] == 1]
    if len(atoms) == 1:
        charset = atoms[0][0]
        if charset.anything:
            sentence = f"Use {size} characters" if size else "Enter any text"
        else:
            sentence = f"Use {charset.words()}" + (f" ({size})" if size else "")
    elif len(atoms) == 2 and atoms[0] in fixed and not atoms[1][0].anything:
        first, rest = atoms[0][0], atoms[1][0]
        sentence = f"Start with {first.one()}, then use {rest.words()}"
        sentence += f" ({size})" if size else ""
    elif len(atoms) == 3 and atoms[0] in fixed and atoms[2] in fixed:
        first, middle, last = (a[0] for a in atoms)
        if first.anything or middle.anything or last.anything:
            return None
        sentence = (
            f"Start with {first.one()} and end with {last.one()}; use {middle.words()} in between"
        )
        sentence += f" ({size})" if size else ""
    else:
        return None
    return sentence + (", or leave it empty" if empty_ok else "")


# --- Schema errors -------------------------------------------------------------------------


def _where(path: Sequence[Any]) -> str:
    """`Key "a"`, `Item 2`, `Item 2, key "port"` for a path inside a parameter."""
    parts = [f"item {p + 1}" if isinstance(p, int) else f'key "{p}"' for p in path]
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def _required_name(error: ValidationError) -> str:
    match = re.match(r"'(.+?)' is a required property", error.message)
    return match.group(1) if match else "a value"


def _range(schema: dict[str, Any]) -> str | None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"Enter a number from {low:g} to {high:g}"
    return None


def _generated(error: ValidationError, description: str) -> str:
    """The platform's sentence for one failed keyword."""
    keyword = str(error.validator)
    value: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "type":
        kinds = value if isinstance(value, list) else [value]
        named = [k for k in kinds if k != "null"]
        sentence = _TYPE_WORDS.get(named[0] if named else "null", "Enter a valid value")
        return sentence + (" or leave it empty" if "null" in kinds and named else "")
    if keyword == "pattern":
        described = describe_pattern(str(value))
        if described:
            return described
        about = description.strip().rstrip(".")
        return (
            f"Use the format the template describes: {about}"
            if about
            else "Use the format the template describes"
        )
    if keyword == "enum":
        values = list(value or [])
        if len(values) > ENUM_LISTED:
            return "Choose one of the allowed values listed on the template page"
        return "Choose one of: " + ", ".join(to_json_text(v) for v in values)
    if keyword == "const":
        return f"Must be {to_json_text(value)}"
    if keyword in ("minimum", "maximum"):
        return _range(schema) or (
            f"Enter {value:g} or more" if keyword == "minimum" else f"Enter {value:g} or less"
        )
    if keyword == "exclusiveMinimum":
        return f"Enter a number greater than {value:g}"
    if keyword == "exclusiveMaximum":
        return f"Enter a number less than {value:g}"
    if keyword == "multipleOf":
        return f"Enter a multiple of {value:g}"
    if keyword == "minLength":
        return f"This is too short: use at least {_plural(value, 'character')}"
    if keyword == "maxLength":
        return f"This is too long: use at most {_plural(value, 'character')}"
    if keyword == "minItems":
        return f"Give at least {_plural(value, 'item')}"
    if keyword == "maxItems":
        return f"Give at most {_plural(value, 'item')}"
    if keyword == "minProperties":
        return f"Give at least {_plural(value, 'entry', 'entries')}"
    if keyword == "maxProperties":
        return f"Give at most {_plural(value, 'entry', 'entries')}"
    if keyword == "uniqueItems":
        return "Each item may appear only once"
    if keyword == "format":
        return f"Enter a valid {_FORMAT_WORDS.get(str(value), str(value))}"
    if keyword == "required":
        return f'Add "{_required_name(error)}"'
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        known = ordered_names(schema.get("properties") or {})
        extra = sorted(str(k) for k in error.instance if k not in known)
        sentence = "Unknown key" + ("s " if len(extra) > 1 else " ")
        sentence += ", ".join(f'"{k}"' for k in extra)
        return sentence + (f"; allowed keys: {', '.join(known)}" if known else "")
    return "Not a valid value"


def parameter_message(error: ValidationError, prop: dict[str, Any] | None) -> str:
    """The sentence shown beside the parameter `error.path[0]` (never its value)."""
    prop = prop or {}
    inner = list(error.path)[1:]
    keyword = str(error.validator)
    sentence: str | None = None
    if not inner:
        own = prop.get("x-error-message")
        if isinstance(own, str) and own.strip():
            return own.strip()
        by_keyword = prop.get("x-error-message-for") or {}
        if keyword != "pattern" or describe_pattern(str(error.validator_value)) is None:
            # Terraform's `error_message` for the rule; our exact pattern sentence wins.
            found = by_keyword.get(keyword) if isinstance(by_keyword, dict) else None
            sentence = found.strip() if isinstance(found, str) and found.strip() else None
    secret = sensitivity.is_sensitive(prop)
    if sentence is None:
        if secret and keyword == "additionalProperties":
            sentence = "Remove the keys this value does not take"  # their names are the value's
        else:
            sentence = _generated(error, str(prop.get("description") or ""))
    if inner and not secret:
        return f"{_where(inner)}: {sentence[:1].lower()}{sentence[1:]}"
    return sentence
