"""What the Cookiecutter variant's hooks do, with copier.yml's own Jinja.

hooks/build_cookiecutter.py inlines this file into cookiecutter/hooks/pre_gen_project.py
and post_gen_project.py, followed by SPEC (validators, conditional paths and the message,
taken from copier.yml and the template tree) and ANSWERS (the Cookiecutter context). The
validators and conditions are the very templates Copier renders, in an environment set
up like Copier's, so both tools refuse the same answers with the same messages.
"""

import shutil
import sys
from pathlib import Path
from typing import Any

import jinja2


def jinja_env(spec: dict[str, Any]) -> jinja2.Environment:
    """Copier's environment: its envops, strict undefined, Ansible's core filters."""
    try:
        import jinja2_ansible_filters  # noqa: F401  (Copier loads the same filters)
    except ImportError:
        sys.exit("copier-flask-deploy needs jinja2-ansible-filters next to Cookiecutter: "
                 "pip install jinja2-ansible-filters (or pipx inject cookiecutter "
                 "jinja2-ansible-filters)")
    return jinja2.Environment(
        # Validators and paths are plain text, as in Copier: no HTML escaping.
        autoescape=False,  # noqa: S701
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        **spec["envops"],
    )


def copier_context(spec: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The names the Copier template uses: answers as they are, computed values
    without the underscores that keep Cookiecutter from asking for them."""
    return {name: answers[key] for name, key in spec["context_keys"].items()}


def first_problem(spec: dict[str, Any], context: dict[str, Any]) -> str | None:
    """The message Copier would stop with, for the first question that fails."""
    env = jinja_env(spec)
    for question in spec["questions"]:
        name = question["name"]
        value = context[name]
        choices = question.get("choices")
        if choices is not None:
            if value not in choices:
                return f"Invalid choice for '{name}': {value!r} is not in {list(choices)}"
            if choices[value] and (message := env.from_string(choices[value])
                                   .render(context).strip()):
                return f"Invalid choice for '{name}': {message}"
        if question.get("validator"):
            message = env.from_string(question["validator"]).render(context).strip()
            if message:
                return f"Validation error for question '{name}': {message}"
    return None


def pre_gen(spec: dict[str, Any], answers: dict[str, Any]) -> int:
    """Refuse bad answers before anything is written; Cookiecutter removes the
    project directory it made when this exits non-zero."""
    problem = first_problem(spec, copier_context(spec, answers))
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


def post_gen(spec: dict[str, Any], answers: dict[str, Any]) -> int:
    """Remove the files and directories Copier would not have written for these
    answers (Cookiecutter cannot skip a path), then say what Copier says."""
    env = jinja_env(spec)
    context = copier_context(spec, answers)
    project = Path.cwd()
    for path_template, condition in spec["conditional_paths"]:
        if env.from_string(condition).render(context) == "keep":
            continue
        path = project / env.from_string(path_template).render(context)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    # Cookiecutter itself records where it writes; cruft calls Cookiecutter's
    # generate_files() into scratch directories of its own (two per `cruft update`),
    # whose paths would only mislead: it gets no message (the README says what to run).
    if "_output_dir" in answers:
        context["_copier_conf"] = {"dst_path": str(project)}
        print(env.from_string(spec["message_after_copy"]).render(context), end="")
    return 0
