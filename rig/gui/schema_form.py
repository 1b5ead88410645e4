"""A form generated from a pydantic model: one editor per field, nested models as groups, inline problems."""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QVBoxLayout, QWidget


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """(inner annotation, accepts None)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)) and \
            type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else annotation), True
    return annotation, False


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _model_items(annotation: Any, value: Any) -> tuple[type[BaseModel], list[tuple[str, dict[str, Any]]]] | None:
    """(item model, [(index or key, item values)]) for a list or str-keyed mapping of models with values; else None.

    The items are the file's (a form edits values, it does not add or remove items)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and len(args) == 1 and _is_model(args[0]) and isinstance(value, list) and \
            all(isinstance(v, dict) for v in value):
        return args[0], [(str(i), v) for i, v in enumerate(value)]
    if origin is dict and len(args) == 2 and args[0] is str and _is_model(args[1]) and isinstance(value, dict) and \
            all(isinstance(v, dict) for v in value.values()):
        return args[1], [(str(k), v) for k, v in value.items()]
    return None


def value_text(value: Any) -> str:
    """How a value is shown in an editor (and parsed back as YAML)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    return str(value)


@dataclass
class FieldEditor:
    """One field's editor, its inline problem label, and the text it started with."""

    path: str
    widget: QWidget
    error: QLabel
    original: str
    is_text: bool

    def text(self) -> str:
        """Current value as text."""
        w = self.widget
        if isinstance(w, QLineEdit):
            return w.text().strip()
        if isinstance(w, QComboBox):
            return w.currentText()
        if isinstance(w, QCheckBox):
            return "true" if w.isChecked() else "false"
        return self.original

    def set_text(self, text: str) -> None:
        """Set the value from text."""
        w = self.widget
        if isinstance(w, QLineEdit):
            w.setText(text)
        elif isinstance(w, QComboBox):
            w.setCurrentText(text)
        elif isinstance(w, QCheckBox):
            w.setChecked(text == "true")

    def override_value(self) -> str:
        """The YAML text of an override (strings quoted, empty means null)."""
        text = self.text()
        if not text:
            return "null"
        return json.dumps(text) if self.is_text else text

    def show_problem(self, message: str) -> None:
        """Show (or with '' clear) the inline message."""
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self.widget.setProperty("invalid", bool(message))
        self.widget.style().unpolish(self.widget)
        self.widget.style().polish(self.widget)


class SchemaForm(QWidget):
    """Editors for every field of a model, under a path prefix such as 'steps.0'."""

    edited = pyqtSignal()

    def __init__(self, model: type[BaseModel], values: dict[str, Any], prefix: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.prefix = prefix
        self.editors: dict[str, FieldEditor] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self._build(model, values, prefix))
        layout.addStretch(1)

    def _build(self, model: type[BaseModel], values: dict[str, Any], prefix: str) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        form.setContentsMargins(4, 4, 4, 4)
        for name, info in model.model_fields.items():
            path = f"{prefix}.{name}"
            inner, _ = _unwrap_optional(info.annotation)
            value = values.get(name)
            if _is_model(inner):
                form.addRow(self._group(name, inner, value or {}, path))
                continue
            items = _model_items(inner, value)
            if items is not None:  # a list or mapping of models (e.g. a step's `leds`): one group per item
                item_model, pairs = items
                outer = QGroupBox(name)
                outer.setToolTip(info.description or "")
                column = QVBoxLayout(outer)
                column.setContentsMargins(2, 2, 2, 2)
                for key, item in pairs:
                    column.addWidget(self._group(f"{name} {key}", item_model, item, f"{path}.{key}"))
                form.addRow(outer)
                continue
            choices = typing.get_args(inner) if typing.get_origin(inner) is typing.Literal else ()
            if name == "kind" and len(choices) == 1:
                form.addRow(QLabel("kind"), QLabel(str(choices[0])))
                continue
            form.addRow(self._label(name, info), self._editor(path, inner, choices, value, info))
        return box

    def _group(self, title: str, model: type[BaseModel], values: dict[str, Any], path: str) -> QGroupBox:
        group = QGroupBox(title)
        group.setToolTip(model.__doc__ or "")
        QVBoxLayout(group).addWidget(self._build(model, values, path))
        return group

    @staticmethod
    def _label(name: str, info: Any) -> QLabel:
        label = QLabel(name)
        if info.description:
            label.setToolTip(info.description)
        return label

    def _editor(self, path: str, inner: Any, choices: tuple, value: Any, info: Any) -> QWidget:
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        text = value_text(value)
        if choices:
            widget: QWidget = QComboBox()
            widget.addItems([str(c) for c in choices])
            widget.setCurrentText(text)
            widget.currentTextChanged.connect(self.edited)
        elif inner is bool:
            widget = QCheckBox()
            widget.setChecked(bool(value))
            widget.toggled.connect(self.edited)
        else:
            widget = QLineEdit(text)
            widget.setToolTip(f"{info.description or ''}\n{getattr(inner, '__name__', str(inner))}".strip())
            widget.textEdited.connect(self.edited)
        widget.setObjectName(path)
        error = QLabel()
        error.setProperty("role", "error")
        error.setWordWrap(True)
        error.setVisible(False)
        column.addWidget(widget)
        column.addWidget(error)
        self.editors[path] = FieldEditor(path, widget, error, text, inner is str)
        return holder

    def overrides(self) -> list[str]:
        """`path=value` for every field changed from the file."""
        return [f"{e.path}={e.override_value()}" for e in self.editors.values() if e.text() != e.original]

    def editor_for(self, problem_field: str) -> FieldEditor | None:
        """The editor a problem's field path falls under (longest matching prefix)."""
        best: FieldEditor | None = None
        for path, editor in self.editors.items():
            if (problem_field == path or problem_field.startswith(path + ".")) and \
                    (best is None or len(path) > len(best.path)):
                best = editor
        if best is None and problem_field.startswith(self.prefix + ".") and problem_field != self.prefix:
            # a problem of a group (e.g. 'steps.0.leds': the pair as a whole) shows at the group's first field
            best = next((e for path, e in self.editors.items() if path.startswith(problem_field + ".")), None)
        return best

    def clear_problems(self) -> None:
        """Hide every inline message."""
        for editor in self.editors.values():
            editor.show_problem("")
