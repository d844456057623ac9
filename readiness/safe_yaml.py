"""YAML from files a user or an artifact controls, read with bounded size and expansion.

``yaml.safe_load`` constructs no Python objects beyond plain data, but it does
expand aliases: a few hundred bytes of nested anchors (a "billion laughs")
describe a structure of 10^9 nodes, and whatever walks it afterwards (pydantic
validation, a dict merge, a printer) hangs. :func:`load_yaml` counts every node
as it would be seen *after* alias expansion while the document is composed, and
refuses the file once that count passes a limit, before anything walks it.

The same loader reads ``readiness.yaml``, ``checklist.yaml``, a project's
``environment.yml`` and MLflow ``MLmodel`` files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from readiness.exceptions import first_line

#: Nodes after alias expansion. A long readiness.yaml has a few hundred.
MAX_NODES = 200_000
#: A config or metadata file larger than this is not a config or metadata file.
MAX_BYTES = 4 * 1024 * 1024
#: Longest single value: YAML 1.1 reads "1:2:3..." as a base-60 integer, in time quadratic in its length.
MAX_SCALAR = 10_000


class YamlLimitError(yaml.YAMLError):
    """The document is larger than :data:`MAX_BYTES` or expands beyond :data:`MAX_NODES`."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that sizes every composed node, counting aliased subtrees each time they are used."""

    max_nodes = MAX_NODES

    def __init__(self, stream):
        super().__init__(stream)
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            anchor = self.peek_event().anchor
            target = self.anchors.get(anchor)
            if target is not None and id(target) not in self._sizes:
                raise YamlLimitError("a recursive alias (an anchor used inside itself); write the value out")
            return super().compose_node(parent, index)  # its size is added again by the parent
        node = super().compose_node(parent, index)
        if isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_SCALAR:
            raise YamlLimitError(f"a value of {len(node.value):,} characters (more than {MAX_SCALAR:,}); "
                                 "a settings file holds no such value")
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        size = 1 + sum(self._sizes[id(child)] for child in children)
        if size > self.max_nodes:
            raise YamlLimitError(
                f"expands to more than {self.max_nodes:,} values through aliases (an alias bomb?); "
                "write the values out or use fewer nested aliases"
            )
        self._sizes[id(node)] = size
        return node


def load_yaml(text: str, *, max_nodes: int = MAX_NODES) -> Any:
    """Parse YAML text like ``yaml.safe_load``, with alias expansion bounded.

    Parameters
    ----------
    text : str
        The document.
    max_nodes : int
        Largest number of values the document may expand to.

    Returns
    -------
    object
        Plain data: dicts, lists, strings, numbers, booleans, None, dates.

    Raises
    ------
    YamlLimitError
        The document expands beyond ``max_nodes`` or holds a recursive alias.
    yaml.YAMLError
        The document is not valid YAML.

    Examples
    --------
    >>> load_yaml("a: &x [1, 2]\\nb: *x")
    {'a': [1, 2], 'b': [1, 2]}
    """
    loader = _BoundedLoader(text)
    loader.max_nodes = max_nodes
    try:
        return loader.get_single_data()
    except RecursionError:
        raise YamlLimitError("nests too deeply to read") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise YamlLimitError(f"holds a value that cannot be read ({first_line(exc, 120)})") from None
    finally:
        loader.dispose()


def read_yaml_file(path: str | Path, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES) -> Any:
    """Read a YAML file with its size and alias expansion bounded (see :func:`load_yaml`).

    Raises
    ------
    YamlLimitError
        The file is larger than ``max_bytes`` or expands beyond ``max_nodes``.
    UnicodeDecodeError
        The file is not UTF-8 text.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise YamlLimitError(f"larger than {max_bytes // (1024 * 1024)} MB, too large for a YAML settings file")
    return load_yaml(raw.decode("utf-8"), max_nodes=max_nodes)
