"""/notes: a form that writes a row and a list that reads the rows back."""

import secrets

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from sqlalchemy import select

from .extensions import db
from .models import NOTE_MAX_LENGTH, Note

blueprint = Blueprint("notes", __name__)

# How many of the newest notes the page lists.
SHOWN = 50


def csrf_token() -> str:
    """A random token kept in the (signed) session cookie and repeated in the form.

    A page on another site can make a visitor's browser post this form, cookie and all,
    but cannot read the token to put in it: a POST whose token does not match the
    session's is refused. Once the app has logins, this is what stops another site from
    writing as a logged-in user."""
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


def check_csrf_token() -> None:
    expected = session.get("csrf_token", "")
    sent = request.form.get("csrf_token", "")
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        abort(400, "The form expired or came from another site: reload the page and retry.")


@blueprint.get("/notes")
def index():
    notes = db.session.scalars(select(Note).order_by(Note.id.desc()).limit(SHOWN))
    return render_template(
        "notes.html", notes=notes, csrf_token=csrf_token(), max_length=NOTE_MAX_LENGTH
    )


@blueprint.post("/notes")
def add():
    check_csrf_token()
    text = request.form.get("text", "").strip()
    if not text or len(text) > NOTE_MAX_LENGTH:
        abort(400, f"A note is 1 to {NOTE_MAX_LENGTH} characters.")
    db.session.add(Note(text=text))
    db.session.commit()
    # Post/redirect/get: reloading the page afterwards does not post the note again.
    return redirect(url_for("notes.index"), code=303)
