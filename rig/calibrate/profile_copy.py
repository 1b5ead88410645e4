"""Write measured values into a COPY of a profile, keeping the rest of its text and comments (ruamel.yaml).

Each edited value gets an end-of-line comment with the date and the method; the copy's first line says
what was calibrated from which profile. The original is never written: the copy must be another file, and
it is written only after the edited profile validates.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from rig.config.problems import InvalidInput, Problem
from rig.config.profile import LoadedProfile, profile_from_data
from rig.config.yaml_loading import parse_yaml_text

YamlValue = Union[float, str, list, dict]


@dataclass(frozen=True)
class ProfileEdit:
    """One measured value: where it goes in the profile (keys from the top), the value, and why."""

    path: tuple[str, ...]
    value: YamlValue
    comment: str
    after: str | None = None  # a new key is placed after this sibling (default: at the end)


def out_path_problems(profile_path: Path, out: Path) -> list[Problem]:
    """The copy must be a new YAML file beside nothing it would destroy: never the original profile."""
    problems: list[Problem] = []
    if out.resolve() == profile_path.resolve():
        problems.append(Problem(str(out), "--out", "is the profile itself; the calibrated profile is written to a "
                                "copy (allowed: another file name)"))
    if out.suffix.lower() not in (".yaml", ".yml"):
        problems.append(Problem(str(out), "--out", "must end in .yaml or .yml"))
    if not out.parent.is_dir():
        problems.append(Problem(str(out), "--out", f"folder {out.parent} does not exist"))
    return problems


def _to_yaml(value: YamlValue) -> object:
    """Lists of numbers as flow sequences ([a, b]) inside a block list, the way the profiles write tables."""
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        outer = CommentedSeq()
        for row in value:
            inner = CommentedSeq(row)
            inner.fa.set_flow_style()
            outer.append(inner)
        return outer
    if isinstance(value, dict):
        mapping = CommentedMap()
        for k, v in value.items():
            mapping[k] = _to_yaml(v)
        mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        seq = CommentedSeq(value)
        seq.fa.set_flow_style()
        return seq
    return value


def _set(root: CommentedMap, edit: ProfileEdit) -> None:
    """Set one value, creating missing mappings; comment it where the YAML style allows (block mappings)."""
    node = root
    commented: tuple[CommentedMap, str] | None = None
    for key in edit.path[:-1]:
        if key not in node or node[key] is None:
            node[key] = CommentedMap()
        if not node.fa.flow_style():
            commented = (node, key)
        node = node[key]
    last = edit.path[-1]
    value = _to_yaml(edit.value)
    if last not in node and edit.after is not None and edit.after in node:
        node.insert(list(node.keys()).index(edit.after) + 1, last, value)
    else:
        node[last] = value
    if not node.fa.flow_style():
        commented = (node, last)
        if isinstance(value, CommentedSeq) and not value.fa.flow_style():
            node.yaml_set_comment_before_after_key(last, before=edit.comment, indent=_indent(edit.path))
            return
    if commented is not None:
        parent, key = commented
        existing = parent.ca.items.get(key)
        if existing is not None:  # replace the old end-of-line comment ("measure: ...") with the measurement
            parent.ca.items.pop(key)
        parent.yaml_add_eol_comment(edit.comment, key, column=_comment_column(parent))


def _list_indent(text: str) -> dict[str, int]:
    """ruamel's list indentation matching the text's first block list: dashes under the key's first letter
    (`sequence=2, offset=0`, PyYAML's style) or indented by two (`sequence=4, offset=2`, the shipped profiles')."""
    lines = text.splitlines()
    for key_line, item_line in zip(lines, lines[1:]):
        key = re.match(r"^( *)[^\s#-][^#]*:\s*(#.*)?$", key_line)
        item = re.match(r"^( *)- ", item_line)
        if key and item:
            return {"sequence": 2, "offset": 0} if len(item.group(1)) == len(key.group(1)) else {"sequence": 4, "offset": 2}
    return {"sequence": 4, "offset": 2}


def _indent(path: tuple[str, ...]) -> int:
    return 2 * (len(path) - 1)


def _comment_column(node: CommentedMap) -> int:
    return 41 if len(node) else 0


def write_calibrated_copy(loaded: LoadedProfile, edits: Sequence[ProfileEdit], out: Path, what: str) -> str:
    """Apply the edits to a copy of the profile's text, validate it, write it to `out`; the new text."""
    problems = out_path_problems(loaded.path, out)
    if problems:
        raise InvalidInput(problems)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, **_list_indent(loaded.text))  # block lists laid out as the original lays them out
    yaml.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    root = yaml.load(loaded.text)
    for edit in edits:
        _set(root, edit)
    today = dt.date.today().isoformat()
    header = (f"Calibrated copy of {loaded.path.name}: {what} measured {today} (rig calibrate); "
              f"the rest is {loaded.path.name} unchanged.")
    buffer = io.StringIO()
    yaml.dump(root, buffer)
    text = f"# {header}\n" + buffer.getvalue()
    # the edited profile must load exactly as the program will read it before anything is written
    profile_from_data(out, text, parse_yaml_text(text, str(out)))
    out.write_text(text, encoding="utf-8")
    return text


def dated(method: str) -> str:
    """A comment: the date and how a value was measured."""
    return f"measured {dt.date.today().isoformat()}: {method}"
