"""LINE's OpenAPI specs, loaded once and compiled into fast jsonschema validators.

OpenAPI 3.0 discriminators are not JSON Schema: a plain validator would check a Flex component
against the bare ``FlexComponent`` schema (``type`` is a string) and nothing more.  The
components are therefore rewritten once at load time:

* every schema ``X`` that has a ``discriminator`` keeps its original body as ``X__base``;
* its subtypes (the mapping targets) extend ``X__base`` instead of ``X`` in their ``allOf``;
* ``X`` itself becomes a dispatcher: ``type`` must be one of the mapping keys, and a custom
  keyword (``x-fakeline-dispatch``) validates the object against the subtype's schema only (an
  ``if``/``then`` per key worked too but cost twice as much).

The result is validated with ``Draft202012Validator`` through a ``referencing`` registry, so each
request costs one validator walk (no per-request OpenAPI machinery).  ``openapi-core`` was measured
and is much slower per request (see ``tests/test_fakeline.py::test_validation_cost``).

The spec files ship with the package (``spec/``, package data, Apache-2.0: see ``spec/NOTICE``), so
an installed Tidtam finds them without the development checkout.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_DIR: Traversable = files(__package__) / "spec"
MESSAGING_SPEC = SPEC_DIR / "messaging-api.yml"
WEBHOOK_SPEC = SPEC_DIR / "webhook.yml"

_REF_PREFIX = "#/components/schemas/"
_DISPATCH = "x-fakeline-dispatch"
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _load_yaml(path: Traversable) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as fh:
        return yaml.load(fh, Loader=loader)  # safe loaders only


def _ref_name(ref: str) -> str | None:
    return ref[len(_REF_PREFIX) :] if ref.startswith(_REF_PREFIX) else None


def rewrite_discriminators(schemas: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``components.schemas`` where discriminators are enforced (see module doc)."""
    out = copy.deepcopy(schemas)
    bases = {name: s["discriminator"] for name, s in schemas.items() if "discriminator" in s}
    for name in bases:
        base = copy.deepcopy(schemas[name])
        base.pop("discriminator", None)
        out[f"{name}__base"] = base
    for name, disc in bases.items():
        prop = disc["propertyName"]
        mapping = {k: _ref_name(v) for k, v in disc.get("mapping", {}).items()}
        mapping = {k: v for k, v in mapping.items() if v in schemas}
        # Subtypes extend the base body, not the dispatcher (which would recurse forever).
        for target in set(mapping.values()):
            for holder in (out[target], out.get(f"{target}__base")):
                if holder is None:
                    continue
                for part in holder.get("allOf", []):
                    if part.get("$ref") == f"{_REF_PREFIX}{name}":
                        part["$ref"] = f"{_REF_PREFIX}{name}__base"
        out[name] = {
            "allOf": [{"$ref": f"{_REF_PREFIX}{name}__base"}],
            "required": [prop],
            "properties": {prop: {"type": "string", "enum": sorted(mapping)}},
            _DISPATCH: {
                "propertyName": prop,
                "mapping": {k: f"{_REF_PREFIX}{t}" for k, t in mapping.items()},
            },
        }
    return out


def _dispatch(validator: Any, value: dict[str, Any], instance: Any, schema: Any) -> Iterator[ValidationError]:
    """Custom keyword: validate the object against the subtype named by its discriminator."""
    if not isinstance(instance, dict):
        return
    target = value["mapping"].get(instance.get(value["propertyName"]))
    if target is not None:
        yield from validator.descend(instance, {"$ref": target})


_Validator = validators.extend(Draft202012Validator, {_DISPATCH: _dispatch})


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("uri", raises=ValueError)
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        if not parts.scheme:
            return False
        if parts.scheme in ("http", "https"):
            return bool(parts.netloc)
        return True  # tel:, line:, mailto: ... are accepted by LINE in some places

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value: object) -> bool:
        return not isinstance(value, str) or is_uuid(value)

    return checker


_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(value: str) -> bool:
    """A hexadecimal UUID with hyphens, the form LINE documents for ``X-Line-Retry-Key``."""
    if not _UUID_RE.match(value):
        return False
    uuid.UUID(value)
    return True


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    body_schema: str | None  # components.schemas name, or None
    body_content_types: tuple[str, ...]
    body_required: bool
    header_params: tuple[tuple[str, bool], ...]  # (lower-case name, required)
    query_params: tuple[tuple[str, bool], ...]
    data_api: bool  # served by api-data.line.me in production


@dataclass
class _Route:
    template: str
    regex: re.Pattern[str]
    n_params: int
    methods: dict[str, Operation] = field(default_factory=dict)


@dataclass(frozen=True)
class SchemaError:
    property: str
    message: str
    detail: str  # jsonschema's own wording, for the violation log


def _property_path(path: Any) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_message(err: ValidationError) -> tuple[str, str]:
    """(property, message) in the style of LINE's ``details`` entries."""
    prop = _property_path(err.absolute_path)
    v, val = err.validator, err.validator_value
    if v == "required":
        missing = next((r for r in val if isinstance(err.instance, dict) and r not in err.instance), None)
        if missing is not None:
            return (f"{prop}.{missing}" if prop else missing), "must be specified"
    if v == "maxLength":
        return prop, f"Length must be between 0 and {val}"
    if v == "minLength":
        return prop, f"Length must be at least {val}"
    if v in ("maxItems", "minItems"):
        schema = err.schema if isinstance(err.schema, dict) else {}
        lo, hi = schema.get("minItems", 0), schema.get("maxItems", "∞")
        return prop, f"Size must be between {lo} and {hi}"
    if v in ("enum", "const"):
        return prop, "invalid property value" if v == "const" else f"must be one of {list(val)}"
    if v == "type":
        return prop, f"must be of type {val}"
    if v in ("maximum", "minimum"):
        return prop, f"must be {'at most' if v == 'maximum' else 'at least'} {val}"
    if v == "pattern":
        return prop, "invalid format"
    if v == "format":
        return prop, f"invalid {val}"
    return prop, err.message


class Spec:
    """One OpenAPI document: its operations and validators for their request bodies."""

    def __init__(self, path: Traversable, uri: str) -> None:
        self.path = path
        self.doc = _load_yaml(path)
        schemas = rewrite_discriminators(self.doc.get("components", {}).get("schemas", {}))
        contents = {"components": {"schemas": schemas}}
        self._uri = uri
        resource = Resource.from_contents(contents, default_specification=DRAFT202012)
        self._registry: Registry = Registry().with_resource(uri, resource)
        self._format_checker = _format_checker()
        self._validators: dict[str, Any] = {}
        self._validators_lock = threading.Lock()  # the emulator's server and its callers share a Spec
        self._exact: dict[str, _Route] = {}
        self._templated: list[_Route] = []
        self._index_paths()

    # -- schemas ---------------------------------------------------------------------------
    def validator(self, schema_name: str) -> Any:
        v = self._validators.get(schema_name)
        if v is None:
            with self._validators_lock:
                v = self._validators.get(schema_name)
                if v is None:
                    v = _Validator(
                        {"$ref": f"{self._uri}{_REF_PREFIX}{schema_name}"},
                        registry=self._registry,
                        format_checker=self._format_checker,
                    )
                    self._validators[schema_name] = v
        return v

    def errors(self, schema_name: str, instance: Any) -> list[SchemaError]:
        out: list[SchemaError] = []
        seen: set[tuple[str, str]] = set()
        for err in self._leaf_errors(self.validator(schema_name).iter_errors(instance)):
            prop, msg = _line_message(err)
            if (prop, msg) in seen:
                continue
            seen.add((prop, msg))
            out.append(SchemaError(prop, msg, err.message))
        return out

    @staticmethod
    def _leaf_errors(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
        for err in errors:
            if err.context:
                yield from Spec._leaf_errors(iter(err.context))
            else:
                yield err

    # -- paths -----------------------------------------------------------------------------
    def _index_paths(self) -> None:
        for template, item in self.doc.get("paths", {}).items():
            n_params = template.count("{")
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "([^/]+)", re.escape(template)) + "$"
            route = _Route(template, re.compile(pattern), n_params)
            shared = item.get("parameters", [])
            for method in _HTTP_METHODS:
                op = item.get(method)
                if not op:
                    continue
                route.methods[method.upper()] = self._operation(method.upper(), template, op, shared)
            if n_params:
                self._templated.append(route)
            else:
                self._exact[template] = route
        # Most specific first: fewer parameters, then longer literal text.
        self._templated.sort(key=lambda r: (r.n_params, -len(r.template)))

    def _operation(self, method: str, template: str, op: dict[str, Any], shared: list[Any]) -> Operation:
        headers: list[tuple[str, bool]] = []
        queries: list[tuple[str, bool]] = []
        for p in [*shared, *op.get("parameters", [])]:
            if "$ref" in p:
                continue
            if p.get("in") == "header":
                headers.append((p["name"].lower(), bool(p.get("required"))))
            elif p.get("in") == "query":
                queries.append((p["name"], bool(p.get("required"))))
        body = op.get("requestBody") or {}
        content = body.get("content") or {}
        schema_name = None
        for media in content.values():
            ref = (media.get("schema") or {}).get("$ref")
            if ref:
                schema_name = _ref_name(ref)
                break
        servers = [s.get("url", "") for s in op.get("servers", [])]
        return Operation(
            method=method,
            template=template,
            operation_id=op.get("operationId", ""),
            body_schema=schema_name,
            body_content_types=tuple(content),
            body_required=bool(body.get("required")),
            header_params=tuple(headers),
            query_params=tuple(queries),
            data_api=any("api-data" in s for s in servers),
        )

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], list[str]]:
        """(operation, path params, allowed methods of the matching paths)."""
        allowed: list[str] = []
        candidates: list[tuple[_Route, tuple[str, ...]]] = []
        exact = self._exact.get(path)
        if exact is not None:
            candidates.append((exact, ()))
        for route in self._templated:
            m = route.regex.match(path)
            if m:
                candidates.append((route, m.groups()))
        for route, groups in candidates:
            op = route.methods.get(method)
            if op is not None:
                names = re.findall(r"\{([^}]+)\}", route.template)
                return op, dict(zip(names, groups, strict=True)), []
            allowed.extend(route.methods)
        return None, {}, sorted(set(allowed))


@functools.cache
def messaging_spec() -> Spec:
    return Spec(MESSAGING_SPEC, "urn:line-openapi:messaging-api")


@functools.cache
def webhook_spec() -> Spec:
    return Spec(WEBHOOK_SPEC, "urn:line-openapi:webhook")


def webhook_errors(payload: Any) -> list[SchemaError]:
    """Errors of a webhook request body (``CallbackRequest``) against webhook.yml."""
    return webhook_spec().errors("CallbackRequest", payload)
