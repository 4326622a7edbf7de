"""Rego evaluated in-process (regopy, the Python bindings of rego-cpp), conftest's way.

A policy is one Rego module whose package sits under the platform's namespace
(`IDP_POLICY_NAMESPACE`, default `idp`). Its rules follow conftest: `deny` and `violation`
are failures, `warn` are warnings; a message is a string or an object with `msg` (and,
here, optionally `address`, the resource address it is about). Each policy runs in its own
interpreter, so one broken policy can never change another's answer, and an error is a
result of its own ("could not be evaluated"), never an empty pass.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from regopy import Interpreter, RegoError  # type: ignore[import-untyped]
from regopy.rego_shared import (  # type: ignore[import-untyped]
    rego_output_ok,
    rego_output_string,
    rego_query,
)

from .choices import Level, Rule

FAILING_RULES = (Rule.DENY, Rule.VIOLATION)
WARNING_RULES = (Rule.WARN,)
MESSAGE_LIMIT = 2000


class PolicyError(Exception):
    """A policy that cannot be loaded or evaluated; the message names file and line."""


@dataclass(frozen=True)
class Finding:
    """One message of one policy on one document (or that it passed, or broke)."""

    policy: str
    version: int | None
    rule: str
    level: str
    message: str
    address: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


_ERROR_MESSAGE = re.compile(r"\(errormsg \d+:([^)]*)\)")
_ERROR_WHERE = re.compile(r"\(error \d+:([^|\s]+)\|(\d+)\|")


def describe_rego_error(text: str, sources: dict[str, str]) -> str:
    """rego-cpp's error tree read as `file:line: message` lines."""
    messages = [m.strip() for m in _ERROR_MESSAGE.findall(text)] or [text.strip()[:300]]
    places = _ERROR_WHERE.findall(text)
    lines = []
    for index, message in enumerate(messages):
        if index < len(places):
            name, offset = places[index]
            source = sources.get(name, "")
            line = source.count("\n", 0, int(offset)) + 1
            lines.append(f"{name}:{line}: {message}")
        else:
            lines.append(message)
    return "\n".join(lines)


def compile_module(name: str, source: str) -> Interpreter:
    """An interpreter holding the module; PolicyError if it does not parse. Built-in errors
    make their expression undefined, as OPA and conftest do by default (a policy written for
    them must mean the same here); parse errors and unknown functions still fail."""
    interpreter = Interpreter()
    try:
        interpreter.add_module(name, source)
    except RegoError as error:
        raise PolicyError(describe_rego_error(str(error.args[0]), {name: source})) from None
    return interpreter


def query(interpreter: Interpreter, expression: str, *, name: str, source: str) -> Any:
    """The value of `expression`; PolicyError with the interpreter's words on failure."""
    output = rego_query(interpreter._impl, expression)
    text = rego_output_string(output)
    if not rego_output_ok(output) or text.startswith(("(error", "<error>")):
        detail = describe_rego_error(text, {name: source}) if "(error" in text else text
        raise PolicyError(f"{name}: could not be evaluated: {detail}".strip())
    if text == "undefined":
        return None
    data = _loads(text)
    results = data if isinstance(data, list) else [data]
    expressions = results[0].get("expressions", []) if results else []
    return expressions[0] if expressions else None


_CLOSES = set(",:}]")


def _repair(text: str) -> str:
    """Escape quotes inside strings that rego-cpp left bare: its sprintf puts a computed
    string in with its quotes (`"v="x""`). A quote closes a string only when a
    structural character follows it."""
    out = []
    inside = False
    index = 0
    while index < len(text):
        char = text[index]
        if inside and char == "\\":
            out.append(text[index : index + 2])
            index += 2
            continue
        if char == '"':
            if not inside:
                inside = True
            else:
                rest = text[index + 1 :].lstrip()
                if rest and rest[0] not in _CLOSES:
                    out.append('\\"')
                    index += 1
                    continue
                inside = False
        out.append(char)
        index += 1
    return "".join(out)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return json.loads(_repair(text))
    except ValueError:
        raise PolicyError(f"the interpreter's answer could not be read: {text[:300]}") from None


def _messages(values: Any) -> list[tuple[str, str]]:
    """(message, address) pairs from a rule's set: strings, or objects with msg/address."""
    if not isinstance(values, list):
        values = [] if values in (None, False) else [values]
    found = []
    for value in values:
        if isinstance(value, dict):
            message = value.get("msg") or value.get("message") or json.dumps(value, sort_keys=True)
            address = value.get("address") or value.get("resource") or ""
        else:
            message, address = str(value), ""
        found.append((str(message)[:MESSAGE_LIMIT], str(address)[:500]))
    return found


def _address_in(message: str, addresses: list[str]) -> str:
    """The resource address a plain-string message names, if it names one."""
    for address in sorted(addresses, key=len, reverse=True):
        if address and address in message:
            return address
    return ""


@dataclass(frozen=True)
class Source:
    """One policy to evaluate: its name, version, package and Rego text."""

    slug: str
    version: int | None
    package: str
    source: str


def _findings(slug: str, version: int | None, value: Any, addresses: list[str]) -> list[Finding]:
    if not isinstance(value, dict):
        value = {}
    findings = []
    for rule in (*FAILING_RULES, *WARNING_RULES):
        level = Level.FAILURE if rule in FAILING_RULES else Level.WARNING
        for message, address in _messages(value.get(rule.value)):
            findings.append(
                Finding(
                    slug, version, rule.value, level, message,
                    address or _address_in(message, addresses),
                )
            )  # fmt: skip
    return findings or [Finding(slug, version, Rule.NONE, Level.PASSED, "")]


def _broken(policy: Source, error: PolicyError) -> list[Finding]:
    message = str(error)[:MESSAGE_LIMIT]
    return [Finding(policy.slug, policy.version, Rule.ERROR, Level.FAILURE, message)]


def _set_input(interpreter: Interpreter, document: dict[str, Any], name: str) -> None:
    try:
        interpreter.set_input(document)
    except (TypeError, ValueError) as error:
        raise PolicyError(f"{name}: the plan could not be given to the policy: {error}") from None


def evaluate(
    *, slug: str, version: int | None, package: str, source: str, document: dict[str, Any]
) -> list[Finding]:
    """Every finding of one policy on one input document (at least one: passed or broken)."""
    return evaluate_all([Source(slug, version, package, source)], document)[slug]


def evaluate_all(policies: list[Source], document: dict[str, Any]) -> dict[str, list[Finding]]:
    """Every finding of each policy on one document, by policy (each has at least one).

    The policies share one interpreter, as OPA and conftest load a folder: the plan is
    handed over once (that hand-over is most of the time on a large plan) and each package
    is queried on its own. A policy that does not parse is a failure of its own and stays
    out of the others' interpreter; so do policies sharing a package (each is judged alone).
    """
    addresses = [rc.get("address", "") for rc in document.get("resource_changes", []) or []]
    found: dict[str, list[Finding]] = {}
    together: list[Source] = []
    packages = [p.package for p in policies]
    interpreter = Interpreter()
    for policy in policies:
        if packages.count(policy.package) > 1:
            found[policy.slug] = _evaluate_alone(policy, document, addresses)
            continue
        name = f"{policy.slug}.rego"
        try:
            # A module that does not parse is refused here and leaves the others as they were.
            interpreter.add_module(name, policy.source)
        except RegoError as error:
            detail = describe_rego_error(str(error.args[0]), {name: policy.source})
            found[policy.slug] = _broken(policy, PolicyError(detail))
            continue
        together.append(policy)
    if together:
        try:
            _set_input(interpreter, document, "the policies")
        except PolicyError as error:
            for policy in together:
                found[policy.slug] = _broken(policy, error)
            return found
        # One query for every package: the modules are compiled and evaluated once.
        expression = "[" + ", ".join(f"data.{p.package}" for p in together) + "]"
        try:
            values = query(interpreter, expression, name="the policies", source="")
        except PolicyError:
            values = None
        if isinstance(values, list) and len(values) == len(together):
            for policy, value in zip(together, values, strict=True):
                found[policy.slug] = _findings(policy.slug, policy.version, value or {}, addresses)
        else:
            # One module's error spoils the shared answer: judge each alone, so an error is
            # only ever its own.
            for policy in together:
                found[policy.slug] = _evaluate_alone(policy, document, addresses)
    return {p.slug: found[p.slug] for p in policies}


def _evaluate_alone(
    policy: Source, document: dict[str, Any], addresses: list[str]
) -> list[Finding]:
    name = f"{policy.slug}.rego"
    try:
        interpreter = compile_module(name, policy.source)
        _set_input(interpreter, document, name)
        value = query(interpreter, f"data.{policy.package}", name=name, source=policy.source)
    except PolicyError as error:
        return _broken(policy, error)
    return _findings(policy.slug, policy.version, value or {}, addresses)
