"""The tutorial recipe's /notes page: a new database connection for every request.

bench/run copies this file into the release of the stack with database=postgresql and
the tutorial's gunicorn serves `tutorial_notes:app`: the generated app (package
my_flask_app, the default name) with the view of /notes replaced by what tutorials
write, psycopg.connect() in the view, closed after the query. The query, its columns
and the template are the generated page's (models.py, notes.py), so the difference
measured is the connection per request and the ORM. The database is named after the
package, as deploy/app.env.example suggests, and reached over PostgreSQL's socket as
the service user (peer authentication).
"""

import psycopg
from flask import render_template
from my_flask_app.notes import NOTE_MAX_LENGTH, SHOWN, csrf_token
from my_flask_app.wsgi import app
from psycopg.rows import dict_row

DATABASE = "dbname=my_flask_app host=/run/postgresql"


def notes():
    connection = psycopg.connect(DATABASE, row_factory=dict_row)
    cursor = connection.cursor()
    cursor.execute("SELECT id, text, created_at FROM notes ORDER BY id DESC LIMIT %s", (SHOWN,))
    rows = cursor.fetchall()
    cursor.close()
    connection.close()
    return render_template(
        "notes.html", notes=rows, csrf_token=csrf_token(), max_length=NOTE_MAX_LENGTH
    )


app.view_functions["notes.index"] = notes
