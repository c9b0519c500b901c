"""The site's pages."""

from flask import Blueprint, render_template

blueprint = Blueprint("views", __name__)


@blueprint.get("/")
def index():
    return render_template("index.html")
