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

Even that walk cost more CPU per Flex reply than the product spent making it (the emulator shares the
machine with what it measures).  ``Spec.errors`` therefore first asks a fast check (``_FastCheck``):
each schema is compiled once, lazily, into plain Python closures for the keywords LINE's specs use.
Valid → no errors; invalid, or anything the fast check cannot decide → the jsonschema walk above,
unchanged, so the error messages are exactly jsonschema's.  The fast check is sound by construction:
a keyword it does not implement makes that subschema fall back to jsonschema (``fast_fallbacks``),
keywords that change how references resolve (``$id``, ``$anchor``...) anywhere disable it for the
whole spec, and an instance that is not plain JSON (a tuple, a Decimal) defers to jsonschema.
``tests/test_emulator_fast_validation.py`` compares its verdict with jsonschema's; ``bench/emulator_bench.py``
measures both.

The spec files ship with the package (``spec/``, package data, Apache-2.0: see ``spec/NOTICE``), so
an installed Tidtam finds them without the development checkout.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import quote, urlsplit

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
    kind = instance.get(value["propertyName"])
    # A discriminator that is not a string (a list, an object) matches no subtype: the `enum` beside
    # this keyword reports it, and a dict lookup of it would raise.
    target = value["mapping"].get(kind) if isinstance(kind, str) else None
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


# -- the fast check (see module doc) -------------------------------------------------------------
Check = Callable[[Any], bool]


class _Defer(Exception):
    """The fast check cannot decide this instance: jsonschema must (a non-JSON value, say)."""


_JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
# Keywords jsonschema's Draft202012Validator does not act on: annotations, OpenAPI's own words.
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "externalDocs",
        "default",
        "example",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "nullable",  # OpenAPI 3.0; jsonschema ignores it (a null fails `type` there as here)
        "discriminator",  # rewritten into x-fakeline-dispatch; a plain validator ignores it
        "$comment",
        "x-enum-varnames",
        "x-enum-descriptions",
    }
)
# Keywords that change how references resolve (or which dialect applies): with any of them anywhere,
# the fast check is off for the whole spec rather than second-guessing referencing.
_SCOPE_KEYWORDS = frozenset(
    {
        "$id",
        "$schema",
        "$anchor",
        "$dynamicAnchor",
        "$dynamicRef",
        "$recursiveAnchor",
        "$recursiveRef",
        "$vocabulary",
    }
)
_IMPLEMENTED = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "enum",
        "const",
        "allOf",
        "$ref",
        _DISPATCH,
    }
)
_REF_NAME_RE = re.compile(r"^#/components/schemas/([A-Za-z0-9_.-]+)$")


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) is int or (type(value) is float and value == value)  # not NaN


# JSON Schema 2020-12's type names as jsonschema's draft 2020-12 type checker decides them, for an
# instance whose exact type is one of _JSON_TYPES: the Python types, and whether an integral float
# counts (it does for "integer": 1.0 is an integer; a bool is neither a number nor an integer).
_TYPE_NAMES: dict[str, tuple[frozenset[type], bool]] = {
    "object": (frozenset({dict}), False),
    "array": (frozenset({list}), False),
    "string": (frozenset({str}), False),
    "boolean": (frozenset({bool}), False),
    "null": (frozenset({type(None)}), False),
    "number": (frozenset({int, float}), False),
    "integer": (frozenset({int}), True),
}


def _scalar_equals(expected: Any) -> Check | None:
    """JSON equality with one enum/const value (1 == 1.0, True != 1); None: not a scalar we handle."""
    if type(expected) is str:
        return lambda v: type(v) is str and v == expected
    if type(expected) is bool:
        return lambda v: v is expected
    if expected is None:
        return lambda v: v is None
    if type(expected) in (int, float) and expected == expected:  # a NaN would equal only itself
        return lambda v: (type(v) is int or type(v) is float) and v == expected
    return None


class _Unsupported(Exception):
    """A schema the compiler does not handle: that subschema is checked by jsonschema instead."""


class _FastCheck:
    """``components.schemas`` (after ``rewrite_discriminators``) compiled into closures that answer
    "valid?" exactly as the jsonschema validator would, or raise ``_Defer``."""

    def __init__(
        self, contents: dict[str, Any], format_checker: FormatChecker, fallback: Callable[[str], Check]
    ) -> None:
        self._schemas: dict[str, Any] = contents["components"]["schemas"]
        self._format_checker = format_checker
        self._fallback = fallback  # JSON pointer of a subschema → jsonschema's is_valid for it
        self._cells: dict[str, list[Check | None]] = {}
        self._lock = threading.Lock()
        self.fallbacks: list[str] = []  # pointers of the subschemas left to jsonschema

    def check(self, name: str) -> Check:
        """The check of the component ``name`` (compiled on its first use)."""
        cell = self._cell(name)
        return lambda instance: self._run(cell, name, instance)

    def compile_all(self) -> None:
        """Compile every component now (the tests look at ``fallbacks`` afterwards)."""
        for name in self._schemas:
            self._compiled(self._cell(name), name)

    def _cell(self, name: str) -> list[Check | None]:
        cell = self._cells.get(name)
        if cell is None:
            cell = self._cells.setdefault(name, [None])
        return cell

    def _compiled(self, cell: list[Check | None], name: str) -> Check:
        fn = cell[0]
        if fn is None:
            with self._lock:  # the emulator's server thread and its callers share a Spec
                fn = cell[0]
                if fn is None:
                    fn = cell[0] = self._sub(self._schemas[name], "", "components", "schemas", name)
        return fn

    def _run(self, cell: list[Check | None], name: str, instance: Any) -> bool:
        fn = cell[0]
        if fn is None:
            fn = self._compiled(cell, name)
        return fn(instance)

    def _ref(self, ref: Any) -> Check:
        m = _REF_NAME_RE.match(ref) if isinstance(ref, str) else None
        if m is None or m.group(1) not in self._schemas:
            raise _Unsupported(f"$ref {ref!r}")
        name = m.group(1)
        cell = self._cell(name)
        run = self._run

        def ref_check(instance: Any) -> bool:
            fn = cell[0]
            return fn(instance) if fn is not None else run(cell, name, instance)

        return ref_check

    # -- compiling one schema object -----------------------------------------------------------
    def _compile(self, schema: Any, pointer: str) -> Check:
        if schema is True:
            return lambda instance: True
        if schema is False:
            return lambda instance: False
        try:
            if not isinstance(schema, dict):
                raise _Unsupported("not a schema")
            return self._compile_object(schema, pointer)
        except _Unsupported:
            self.fallbacks.append(pointer)
            return self._fallback(pointer)

    def _sub(self, schema: Any, pointer: str, *segments: str | int) -> Check:
        for segment in segments:
            pointer += "/" + quote(str(segment).replace("~", "~0").replace("/", "~1"), safe="")
        return self._compile(schema, pointer)

    def _compile_object(self, schema: dict[str, Any], pointer: str) -> Check:
        unknown = set(schema) - _IMPLEMENTED - _ANNOTATIONS
        if unknown:
            raise _Unsupported(", ".join(sorted(unknown)))
        exact: frozenset[type] | None = None  # None: no `type` keyword
        integral_float = False
        on_dict: list[Check] = []
        on_list: list[Check] = []
        on_str: list[Check] = []
        on_number: list[Check] = []
        on_any: list[Check] = []

        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not names:
                raise _Unsupported("type []")
            exact = frozenset()
            for n in names:
                if not isinstance(n, str) or n not in _TYPE_NAMES:
                    raise _Unsupported(f"type {n!r}")
                types, integral = _TYPE_NAMES[n]
                exact |= types
                integral_float = integral_float or integral
            if float in exact:
                integral_float = False  # every float is in already

        props: dict[str, Check] = {}
        if "properties" in schema:
            if not isinstance(schema["properties"], dict):
                raise _Unsupported("properties")
            props = {k: self._sub(sub, pointer, "properties", k) for k, sub in schema["properties"].items()}
            if props:
                get = props.get

                def properties(instance: dict[str, Any]) -> bool:
                    for k, v in instance.items():
                        c = get(k)
                        if c is not None and not c(v):
                            return False
                    return True

                on_dict.append(properties)
        if "required" in schema:
            required = schema["required"]
            if not isinstance(required, list) or not all(type(r) is str for r in required):
                raise _Unsupported("required")
            if required:
                req = tuple(required)

                def has_required(instance: dict[str, Any]) -> bool:
                    for r in req:  # noqa: SIM110 (a loop: no generator per call, on the hot path)
                        if r not in instance:
                            return False
                    return True

                on_dict.append(has_required)
        if "additionalProperties" in schema:
            ap = self._sub(schema["additionalProperties"], pointer, "additionalProperties")
            known = frozenset(schema.get("properties") or ())

            def additional(instance: dict[str, Any]) -> bool:
                return all(ap(v) for k, v in instance.items() if k not in known)

            on_dict.append(additional)
        if "items" in schema:
            if not isinstance(schema["items"], dict | bool):
                raise _Unsupported("items")
            item = self._sub(schema["items"], pointer, "items")

            def items(instance: list[Any]) -> bool:
                for v in instance:  # noqa: SIM110 (as above)
                    if not item(v):
                        return False
                return True

            on_list.append(items)
        for key, bound in (
            ("minItems", on_list),
            ("maxItems", on_list),
            ("minLength", on_str),
            ("maxLength", on_str),
        ):
            if key in schema:
                n = schema[key]
                if not _is_int(n) or n < 0:
                    raise _Unsupported(key)
                bound.append(_at_least(n) if key.startswith("min") else _at_most(n))
        if "pattern" in schema:
            try:
                search = re.compile(schema["pattern"]).search  # jsonschema: re.search(pattern, instance)
            except (re.error, TypeError) as exc:
                raise _Unsupported("pattern") from exc
            on_str.append(lambda instance: search(instance) is not None)
        if "format" in schema:
            fmt = schema["format"]
            if not isinstance(fmt, str):
                raise _Unsupported("format")
            checker = self._format_checker
            if fmt in checker.checkers:  # a format jsonschema has no checker for is not checked there either
                conforms = checker.conforms
                on_any.append(lambda instance: conforms(instance, fmt))
        if "minimum" in schema:
            lo = schema["minimum"]
            if not _is_number(lo):
                raise _Unsupported("minimum")
            on_number.append(lambda instance: not instance < lo)
        if "maximum" in schema:
            hi = schema["maximum"]
            if not _is_number(hi):
                raise _Unsupported("maximum")
            on_number.append(lambda instance: not instance > hi)
        if "enum" in schema:
            values = schema["enum"]
            if not isinstance(values, list):
                raise _Unsupported("enum")
            if values and all(type(v) is str for v in values):
                allowed = frozenset(values)
                on_any.append(lambda instance: type(instance) is str and instance in allowed)
            else:
                tests = [_scalar_equals(v) for v in values]
                if any(t is None for t in tests):
                    raise _Unsupported("enum")
                on_any.append(lambda instance: any(t(instance) for t in tests))  # type: ignore[misc]
        if "const" in schema:
            test = _scalar_equals(schema["const"])
            if test is None:
                raise _Unsupported("const")
            on_any.append(test)
        if "allOf" in schema:
            parts = schema["allOf"]
            if not isinstance(parts, list) or not parts:
                raise _Unsupported("allOf")
            on_any.extend(self._sub(part, pointer, "allOf", i) for i, part in enumerate(parts))
        if "$ref" in schema:
            on_any.append(self._ref(schema["$ref"]))
        if _DISPATCH in schema:
            on_dict.append(self._dispatch(schema[_DISPATCH]))
        return _node(exact, integral_float, on_dict, on_list, on_str, on_number, on_any)

    def _dispatch(self, value: Any) -> Check:
        if not (
            isinstance(value, dict)
            and isinstance(value.get("propertyName"), str)
            and isinstance(value.get("mapping"), dict)
        ):
            raise _Unsupported(_DISPATCH)
        prop = value["propertyName"]
        targets = {k: self._ref(t) for k, t in value["mapping"].items()}

        def dispatch(instance: dict[str, Any]) -> bool:
            key = instance.get(prop)
            if type(key) is list or type(key) is dict:
                raise _Defer  # _dispatch's mapping.get() raises TypeError on it: let jsonschema do so
            target = targets.get(key)
            return target is None or target(instance)

        return dispatch


def _at_least(n: int) -> Check:
    return lambda instance: len(instance) >= n


def _at_most(n: int) -> Check:
    return lambda instance: len(instance) <= n


def _node(
    exact: frozenset[type] | None,
    integral_float: bool,
    on_dict: list[Check],
    on_list: list[Check],
    on_str: list[Check],
    on_number: list[Check],
    on_any: list[Check],
) -> Check:
    """One schema object's check: its type, then the keywords that apply to the instance's type."""
    json_types = _JSON_TYPES
    dict_checks, list_checks, str_checks = tuple(on_dict), tuple(on_list), tuple(on_str)
    number_checks, any_checks = tuple(on_number), tuple(on_any)

    def check(instance: Any) -> bool:
        t = type(instance)
        if t not in json_types:
            raise _Defer
        if (
            exact is not None
            and t not in exact
            and not (integral_float and t is float and instance.is_integer())
        ):
            return False
        if t is dict:
            for c in dict_checks:
                if not c(instance):
                    return False
        elif t is str:
            for c in str_checks:
                if not c(instance):
                    return False
        elif t is list:
            for c in list_checks:
                if not c(instance):
                    return False
        elif t is int or t is float:
            for c in number_checks:
                if not c(instance):
                    return False
        for c in any_checks:  # noqa: SIM110 (as above)
            if not c(instance):
                return False
        return True

    return check


def _uses_scope_keywords(node: Any) -> bool:
    if isinstance(node, dict):
        return any(k in _SCOPE_KEYWORDS for k in node) or any(_uses_scope_keywords(v) for v in node.values())
    if isinstance(node, list):
        return any(_uses_scope_keywords(v) for v in node)
    return False


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
        self._fast: _FastCheck | None = None
        if not _uses_scope_keywords(contents):
            self._fast = _FastCheck(contents, self._format_checker, self._subschema_is_valid)
        self._fast_checks: dict[str, Check] = {}
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

    def _subschema_is_valid(self, pointer: str) -> Check:
        """jsonschema's verdict on the subschema at ``pointer``, for what the fast check leaves to it."""
        validator = _Validator(
            {"$ref": f"{self._uri}#{pointer}"}, registry=self._registry, format_checker=self._format_checker
        )
        return validator.is_valid

    def fast_valid(self, schema_name: str, instance: Any) -> bool | None:
        """The fast check's verdict (see module doc): True/False as jsonschema's, None when it defers."""
        check = self._fast_checks.get(schema_name)
        if check is None:
            if self._fast is None or schema_name not in self._fast._schemas:
                return None
            check = self._fast_checks.setdefault(schema_name, self._fast.check(schema_name))
        try:
            return check(instance)
        except _Defer:
            return None

    @property
    def fast_fallbacks(self) -> list[str] | None:
        """JSON pointers of the subschemas compiled so far that the fast check leaves to jsonschema
        (None: the fast check is off for this spec)."""
        return None if self._fast is None else list(self._fast.fallbacks)

    def compile_fast_checks(self) -> None:
        """Compile every component's fast check now (otherwise each is compiled on first use)."""
        if self._fast is not None:
            self._fast.compile_all()

    def errors(self, schema_name: str, instance: Any) -> list[SchemaError]:
        """LINE-style errors of ``instance`` against the component ``schema_name`` ([] when valid)."""
        if self.fast_valid(schema_name, instance):
            return []
        return self.jsonschema_errors(schema_name, instance)

    def jsonschema_errors(self, schema_name: str, instance: Any) -> list[SchemaError]:
        """``errors`` by the jsonschema walk alone (what the fast check is tested against)."""
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
