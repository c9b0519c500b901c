"""{{ cookiecutter.project_name }}: {{ cookiecutter.description }}."""

from .app import create_app

__all__ = ["create_app"]
