#!/usr/bin/env python3
"""Build the Cookiecutter variant (cookiecutter/) from the Copier template.

Copier is the single source: copier.yml and template/ are translated, never edited by
hand on the Cookiecutter side.

- copier.yml's questions become cookiecutter.json (defaults with their types, choices
  with the default first, help texts as __prompts__); computed values (when: false)
  become __name (rendered, never asked) or _name (kept as they are, for lists).
- template/ becomes {{cookiecutter.__project_dir}}/ (the slug): names in Jinja code are prefixed
  with `cookiecutter.`, `.jinja` suffixes dropped, files Copier copies verbatim listed
  in _copy_without_render, modes kept.
- A path Copier skips through `{% if ... %}name{% endif %}` is written under its name
  and removed by the post_gen hook when the condition is false.
- The hooks apply copier.yml's validators and print its message after copy
  (hooks/cookiecutter_hook.py).

Usage: python hooks/build_cookiecutter.py [DEST]   (default: cookiecutter/ in the repo)
"""

import json
import re
import shutil
import sys
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import jinja2
import yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECT_DIR = "{{cookiecutter.__project_dir}}"
# Cookiecutter makes the project directory before the pre_gen hook can refuse a bad slug
# ("", "/etc", "../x"): name it after the slug only once copier.yml's validator passes.
PROJECT_DIR_FALLBACK = "invalid-project-slug"
# Cookiecutter's loader looks in the project template and in ../templates: the lock
# files copier.yml's templates include live there.
INCLUDE_DIR = "templates"
CONDITIONAL_SEGMENT = re.compile(r"^\{% if (?P<condition>.+?) %\}(?P<name>.+?)\{% endif %\}"
                                 r"(?P<suffix>[^{]*)$")
# Keywords after which a name is a new local variable, not a question.
BINDING_KEYWORDS = {"set", "for", "macro", "import", "as", "with"}


def load_copier_yml() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """copier.yml split into settings (_keys) and questions, in file order."""
    data = yaml.safe_load((ROOT / "copier.yml").read_text())
    settings = {key: value for key, value in data.items() if key.startswith("_")}
    questions = {key: value for key, value in data.items() if not key.startswith("_")}
    return settings, questions


def is_computed(question: dict[str, Any]) -> bool:
    return question.get("when") is False


def cookiecutter_key(name: str, question: dict[str, Any]) -> str:
    """Computed values get underscores so Cookiecutter never asks for them."""
    if not is_computed(question):
        return name
    return f"__{name}" if isinstance(question.get("default"), str) else f"_{name}"


class NameRewriter:
    """Prefix the template's variables with `cookiecutter.`, token by token."""

    def __init__(self, keys: dict[str, str]):
        self.keys = keys
        # Whitespace control would be lost in a token round trip: refuse it below.
        # Only the lexer is used: nothing is rendered, so nothing is escaped.
        self.env = jinja2.Environment(keep_trailing_newline=True, autoescape=False)  # noqa: S701

    def __call__(self, source: str, where: str) -> str:
        tokens = list(self.env.lexer.tokeniter(source, where))
        if "".join(value for _, _, value in tokens) != source:
            raise SystemExit(f"{where}: whitespace control (-%}} or {{%-) cannot be "
                             "translated token by token; use trim_blocks-friendly layout")
        out: list[str] = []
        previous = ""
        for _, kind, value in tokens:
            if kind == "name" and value in self.keys:
                if previous in BINDING_KEYWORDS:
                    raise SystemExit(f"{where}: a local Jinja name shadows the question "
                                     f"{value!r}; rename it")
                if previous != ".":  # an attribute of something else
                    value = f"cookiecutter.{self.keys[value]}"
            out.append(value)
            if kind != "whitespace":
                previous = value
        return "".join(out)


def cookiecutter_json(settings: dict[str, Any], questions: dict[str, dict[str, Any]],
                      rewrite: NameRewriter, copy_without_render: list[str]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    prompts: dict[str, Any] = {}
    for name, question in questions.items():
        default = question.get("default", "")
        if isinstance(default, str):
            default = rewrite(default, f"copier.yml:{name}")
        choices = question.get("choices")
        if choices is not None:
            parsed = copier_choices(choices)
            # Cookiecutter's default is the first choice.
            context[name] = sorted((value for _, value, _ in parsed),
                                   key=lambda value: value != default)
            labels = {value: label for label, value, _ in parsed}
            prompts[name] = {"__prompt__": question["help"], **labels}
        else:
            context[cookiecutter_key(name, question)] = default
            if "help" in question:
                prompts[name] = question["help"]
    envops = {key: value for key, value in settings.get("_envops", {}).items()
              if key not in {"undefined", "keep_trailing_newline"}}
    if settings.get("_envops", {}).get("undefined") != "jinja2.StrictUndefined":
        raise SystemExit("copier.yml: Cookiecutter renders with StrictUndefined, so must Copier")
    context["__project_dir"] = (
        "{% set problem %}" + rewrite(questions["project_slug"]["validator"], "project_slug")
        + "{% endset %}{{ '" + PROJECT_DIR_FALLBACK + "' if problem | trim "
        "else cookiecutter.project_slug }}")
    # Raw values (_name) are never rendered, and Cookiecutter only lets a value use the
    # ones before it: they come first (__project_dir reads the reserved unit names).
    rendered_in_order = {key: value for key, value in context.items()
                         if not key.startswith("_") or key.startswith("__")}
    raw = {key: value for key, value in context.items() if key not in rendered_in_order}
    return {
        **raw,
        **rendered_in_order,
        "__prompts__": prompts,
        "_extensions": ["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        "_jinja2_env_vars": envops,
        "_copy_without_render": copy_without_render,
    }


def copier_choices(choices: Any) -> list[tuple[str, Any, str]]:
    """(label, value, validator or "") of a Copier choices list or mapping."""
    if isinstance(choices, list):
        return [(str(choice), choice, "") for choice in choices]
    return [(label, spec["value"], spec.get("validator", "")) if isinstance(spec, dict)
            else (label, spec, "") for label, spec in choices.items()]


def excluded(path: Path, patterns: list[str]) -> bool:
    return any(fnmatch(part, pattern) for part in path.parts for pattern in patterns)


def build(dest: Path) -> None:
    settings, questions = load_copier_yml()
    keys = {name: cookiecutter_key(name, question) for name, question in questions.items()}
    rewrite = NameRewriter(keys)
    source = ROOT / settings.get("_subdirectory", ".")
    suffix = settings.get("_templates_suffix", ".jinja")
    exclude = settings.get("_exclude", [])

    if dest.exists():
        shutil.rmtree(dest)
    project = dest / PROJECT_DIR
    project.mkdir(parents=True)

    copy_without_render: list[str] = []
    conditional_paths: list[list[str]] = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or excluded(relative, exclude):
            continue
        if "_copier_conf.answers_file" in str(relative):
            continue  # Copier's own answers file; cruft keeps .cruft.json instead
        out_parts: list[str] = []  # Cookiecutter names
        copier_parts: list[str] = []  # the same path in Copier's names, for the hooks
        rendered = path.name.endswith(suffix)
        for index, part in enumerate(relative.parts):
            if index == len(relative.parts) - 1 and rendered:
                part = part.removesuffix(suffix)
            match = CONDITIONAL_SEGMENT.match(part)
            if match:
                part = match["name"] + match["suffix"]
                entry = ["/".join([*copier_parts, part]),
                         f"{{% if {match['condition']} %}}keep{{% endif %}}"]
                if entry not in conditional_paths:
                    conditional_paths.append(entry)
            elif "{%" in part:
                raise SystemExit(f"{relative}: only `{{% if ... %}}name{{% endif %}}` "
                                 "path parts can be translated")
            copier_parts.append(part)
            out_parts.append(rewrite(part, str(relative)))
        target = project.joinpath(*out_parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if rendered:
            target.write_text(rewrite(path.read_text(), str(relative)))
        else:
            shutil.copyfile(path, target)
            copy_without_render.append("/".join(out_parts))
        target.chmod(path.stat().st_mode & 0o777)

    (dest / "cookiecutter.json").write_text(json.dumps(
        cookiecutter_json(settings, questions, rewrite, copy_without_render), indent=2) + "\n")
    copy_includes(source, suffix, dest / INCLUDE_DIR, rewrite)
    write_hooks(dest / "hooks", settings, questions, keys, conditional_paths)
    (dest / "README.md").write_text(
        "Built from copier.yml and template/ by `make cookiecutter` "
        "(hooks/build_cookiecutter.py). Do not edit: your changes would be overwritten.\n")


def copy_includes(source: Path, suffix: str, dest: Path, rewrite: NameRewriter) -> None:
    """Directories the templates {% include %} from (Copier finds them in the repo
    root); included files are templates too."""
    included = set()
    for path in source.rglob(f"*{suffix}"):
        included.update(re.findall(r"\{% include '([^']+)/' ~", path.read_text()))
    for directory in sorted(included):
        for path in sorted((ROOT / directory).iterdir()):
            target = dest / directory / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rewrite(path.read_text(), str(path.relative_to(ROOT))))


def write_hooks(dest: Path, settings: dict[str, Any], questions: dict[str, dict[str, Any]],
                keys: dict[str, str], conditional_paths: list[list[str]]) -> None:
    spec = {
        "envops": {key: value for key, value in settings.get("_envops", {}).items()
                   if key != "undefined"},
        "context_keys": keys,
        "questions": [
            {"name": name,
             "validator": question.get("validator", ""),
             **({"choices": {value: validator for _, value, validator
                             in copier_choices(question["choices"])}}
                if "choices" in question else {})}
            for name, question in questions.items() if not is_computed(question)
        ],
        "conditional_paths": conditional_paths,
        "message_after_copy": settings.get("_message_after_copy", ""),
    }
    spec_json = json.dumps(spec, indent=1)
    if "'''" in spec_json or "{% endraw %}" in spec_json:
        raise SystemExit("copier.yml text cannot be embedded in the hooks as it is")
    runtime = (ROOT / "hooks" / "cookiecutter_hook.py").read_text()
    dest.mkdir()
    for hook, function in (("pre_gen_project", "pre_gen"), ("post_gen_project", "post_gen")):
        (dest / f"{hook}.py").write_text(
            "{% raw %}"
            f"# Built by hooks/build_cookiecutter.py from copier.yml: do not edit.\n"
            f"{runtime}\n\n"
            "import json  # noqa: E402\n\n"
            f"SPEC = json.loads(r'''{spec_json}''')\n"
            "{% endraw %}"
            # tojson escapes quotes, so the answers cannot end the Python string.
            "ANSWERS = json.loads(r'{{ cookiecutter | tojson }}')\n"
            f"sys.exit({function}(SPEC, ANSWERS))\n")


def main() -> None:
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "cookiecutter"
    build(dest)
    print(f"built the Cookiecutter variant in {dest}")


if __name__ == "__main__":
    main()
