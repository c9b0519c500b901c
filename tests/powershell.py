"""Read a PowerShell script with tree-sitter's PowerShell grammar (no PowerShell can be
installed on these machines): its syntax errors, and what Windows PowerShell 5.1 would
get wrong when the script calls a native program."""

import re
from collections.abc import Iterator
from functools import cache

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

STRINGS = ("verbatim_string_characters", "verbatim_here_string_characters",
           "expandable_string_literal", "expandable_here_string_literal")
ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


@cache
def parser() -> Parser:
    return Parser(Language(tree_sitter_powershell.language()))


def nodes(source: str) -> Iterator[Node]:
    pending = [parser().parse(source.encode()).root_node]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(reversed(node.children))


def at(node: Node) -> str:
    return f"{node.start_point.row + 1}:{node.start_point.column + 1}"


def syntax_errors(source: str) -> list[str]:
    """'line:column: what' for each place the grammar could not parse."""
    errors = []
    for node in nodes(source):
        if node.is_missing:
            errors.append(f"{at(node)}: missing {node.type}")
        elif node.is_error:
            errors.append(f"{at(node)}: cannot parse {node.text.decode()[:40]!r}")
        elif node.has_error and not any(child.has_error for child in node.children):
            # a missing token of a hidden rule (a statement terminator) has no node
            errors.append(f"{at(node)}: incomplete {node.type}")
    return errors


def string_value(node: Node) -> str:
    """The value of a string literal: quotes dropped, escapes applied; $(...) left out."""
    text, kept, start = node.text, [], 0
    for child in node.children:
        if child.type == "sub_expression":
            kept.append(text[start:child.start_byte - node.start_byte])
            start = child.end_byte - node.start_byte
    raw = b"".join([*kept, text[start:]]).decode()
    if node.type == "verbatim_string_characters":
        return raw[1:-1].replace("''", "'")
    if "here_string" in node.type:
        raw = re.sub(r"^@['\"][ \t]*\r?\n|\r?\n['\"]@$", "", raw)
        if node.type.startswith("verbatim"):
            return raw
        return re.sub(r"`(.)", lambda m: ESCAPES.get(m[1], m[1]), raw, flags=re.S)
    return re.sub(r'`(.)|("")', lambda m: '"' if m[2] else ESCAPES.get(m[1], m[1]), raw[1:-1],
                  flags=re.S)


def ps51_problems(source: str) -> list[str]:
    """What breaks under Windows PowerShell 5.1, which passes double quotes inside an
    argument to a native program unescaped (Python sees `split(.)` for `split(".")`):
    any string whose value holds a double quote, any `-c CODE` argument (its code could
    be built with quotes at run time), `--%`, and `&&`/`||` (PowerShell 7 only)."""
    problems = []
    for node in nodes(source):
        if node.type in STRINGS:
            value = string_value(node)
            if re.search('["\u201c-\u201e]', value):
                problems.append(f"{at(node)}: a string holds a double quote: {node.text.decode()}")
            if value == "-c":
                problems.append(f"{at(node)}: '-c' code for a native program")
        elif node.type == "command_elements":
            for argument in node.children:
                text = argument.text.decode()
                if text == "-c" or text.startswith(("-c:", "--%")):
                    problems.append(f"{at(argument)}: {text} passed to a native program")
        elif node.type == "pipeline_chain_tail":
            problems.append(f"{at(node)}: && and || need PowerShell 7")
    return problems
