"""Shortcuts do not pass: the guard that a check puts around the student's function.

Each check declares, in its ``@exercise`` decorator, the dotted paths of coursekit's own
implementations of the answer (``answer=``) and of library functions that would do the whole
exercise in one call (``shortcuts=``; an entry ``(path, predicate)`` makes it a shortcut only when
``predicate(*args, **kwargs)`` holds for the call, e.g. ``F.conv2d`` only with ``groups > 1``,
built with :func:`arg_is`). While the check runs the student's function, :class:`_Guard` replaces
every declared name (and every alias of it in a loaded module or in the student's namespace) by
a function that raises :class:`ShortcutUsed`, and restores everything afterwards, even when the
student's code raises. See :mod:`coursekit.checks._core` for the mechanism around it.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any


class ShortcutUsed(Exception):
    """Raised when the student's function calls an implementation the exercise asks them to write."""


def arg_is(name: str, position: int, test: Callable[[Any], bool], default: Any = None) -> Callable[..., bool]:
    """A shortcut predicate on one argument of the call, given by keyword or by position.

    ``("torch.nn.functional.conv2d", arg_is("groups", 6, lambda g: g != 1, default=1))``.
    """

    def predicate(*args: Any, **kwargs: Any) -> bool:
        value = kwargs[name] if name in kwargs else args[position] if len(args) > position else default
        try:
            return bool(test(value))
        except Exception:
            return False

    return predicate


ShortcutSpec = str | tuple[str, Callable[..., bool]]


def _resolve(path: str) -> tuple[Any, str]:
    """``"pkg.mod.Class.attr"`` → (the object that holds ``attr``, ``"attr"``), importing as needed."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for part in parts[i:-1]:
                owner = getattr(owner, part)
        except AttributeError:
            break
        if parts[-1] in vars(owner):
            return owner, parts[-1]
        break
    raise ValueError(f"exercise declaration: cannot find {path!r}; fix the dotted path in the check's @exercise")


def _display(path: str) -> str:
    for long, short in (("torch.nn.functional.", "F."), ("torch.nn.", "nn.")):
        if path.startswith(long):
            return short + path[len(long):]
    return path.removesuffix(".__init__").removesuffix(".forward")


class _Guard:
    """Swaps the declared names for guards while the student's function runs, and back."""

    def __init__(self, name: str, answers: Sequence[str], shortcuts: Sequence[ShortcutSpec],
                 student_fn: Callable[..., Any]):
        self.used: list[str] = []
        self.depth = 0
        self.swaps: list[tuple[Any, str, Any, Any]] = []  # (holder, attribute, original, guard)
        specs = [(p, None, True) for p in answers] + [
            (s, None, False) if isinstance(s, str) else (s[0], s[1], False) for s in shortcuts
        ]
        originals: dict[int, Any] = {}
        guards: dict[int, Any] = {}
        self.by_original: dict[int, Any] = {}  # a declared function handed in as the answer itself
        for path, predicate, is_answer in specs:
            owner, attr = _resolve(path)
            raw = vars(owner)[attr]
            guard = self._make_guard(name, path, raw, predicate, is_answer)
            self.swaps.append((owner, attr, raw, guard))
            self.by_original[id(raw)] = guard
            if isinstance(raw, (staticmethod, classmethod)):
                self.by_original[id(raw.__func__)] = guard
            if not isinstance(owner, type):  # a module-level name: also replace its aliases
                originals[id(raw)], guards[id(raw)] = raw, guard
        if originals:
            namespaces = [vars(m) for m in list(sys.modules.values()) if m is not None and hasattr(m, "__dict__")]
            student_globals = getattr(student_fn, "__globals__", None)
            if isinstance(student_globals, dict):
                namespaces.append(student_globals)
            seen = {(id(owner), attr) for owner, attr, _, _ in self.swaps}
            for ns in namespaces:
                try:
                    items = [(k, v) for k, v in ns.items() if id(v) in originals and v is originals[id(v)]]
                except Exception:
                    continue
                for key, value in items:
                    if (id(ns), key) not in seen:
                        seen.add((id(ns), key))
                        self.swaps.append((ns, key, value, guards[id(value)]))
        self._hidden_references(student_fn)

    def _hidden_references(self, fn: Any) -> None:
        """A declared function kept in the student function's closure or default arguments."""
        declared = self.by_original
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if id(value) in declared:
                self.swaps.append((cell, "cell_contents", value, declared[id(value)]))
        defaults = getattr(fn, "__defaults__", None)
        if defaults and any(id(v) in declared for v in defaults):
            self.swaps.append((fn, "__defaults__", defaults, tuple(declared.get(id(v), v) for v in defaults)))
        for key, value in (getattr(fn, "__kwdefaults__", None) or {}).items():
            if id(value) in declared:
                self.swaps.append((fn.__kwdefaults__, key, value, declared[id(value)]))

    def _make_guard(self, name: str, path: str, raw: Any, predicate: Callable[..., bool] | None,
                    is_answer: bool) -> Any:
        func = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        what = "coursekit's own" if is_answer else "the library's"
        message = (f"this exercise asks you to write {name} yourself; {what} `{_display(path)}` is off "
                   f"while the check runs")
        used = self.used

        def guard(*args: Any, **kwargs: Any) -> Any:
            if predicate is None or predicate(*args, **kwargs):
                used.append(message)
                raise ShortcutUsed(message)
            return func(*args, **kwargs)

        if isinstance(raw, staticmethod):
            return staticmethod(guard)
        if isinstance(raw, classmethod):
            return classmethod(guard)
        return guard

    def _set(self, holder: Any, attr: str, value: Any) -> None:
        if isinstance(holder, dict):
            holder[attr] = value
        else:
            setattr(holder, attr, value)

    def wrap(self, student_fn: Callable[..., Any]) -> Callable[..., Any]:
        # ``check(coursekit.x.answer)`` or ``check(Block().forward)``: the answer itself is a shortcut
        if isinstance(student_fn, functools.partial) and id(student_fn.func) in self.by_original:
            student_fn = functools.partial(self.by_original[id(student_fn.func)], *student_fn.args,
                                           **student_fn.keywords)
        inner = getattr(student_fn, "__func__", student_fn)
        if id(inner) in self.by_original:
            guard = self.by_original[id(inner)]
            bound = getattr(student_fn, "__self__", None)
            student_fn = functools.partial(guard, bound) if bound is not None and inner is not student_fn else guard

        @functools.wraps(student_fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.depth += 1
            if self.depth == 1:
                for holder, attr, _, guard in self.swaps:
                    self._set(holder, attr, guard)
            try:
                return student_fn(*args, **kwargs)
            finally:
                self.depth -= 1
                if self.depth == 0:
                    for holder, attr, original, _ in reversed(self.swaps):
                        self._set(holder, attr, original)

        return guarded

    def wrap_class(self, student_cls: type) -> type:
        """A student's class (a layer the exercise asks for): a subclass whose constructor and
        ``forward`` run under the guard, so a shortcut met while building the layer or while running
        it counts (subclassing coursekit's layer, or calling it inside ``forward``)."""
        namespace: dict[str, Any] = {"__init__": self.wrap(student_cls.__init__), "__module__": student_cls.__module__,
                                     "__qualname__": student_cls.__qualname__, "__doc__": student_cls.__doc__}
        if callable(getattr(student_cls, "forward", None)):
            namespace["forward"] = self.wrap(student_cls.forward)
        return type(student_cls.__name__, (student_cls,), namespace)
