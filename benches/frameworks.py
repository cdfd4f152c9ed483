"""The real-application scenarios' apps, the same for every server (see apps.py for the others).

    flask_app    GET /json?name=N: a Flask view answering jsonify() of a small dict with the
                 query argument
    django_app   GET /page: a Django view rendering a template over an ORM query (the first ten
                 users, of twenty, on SQLite)

Django's database is the SQLite file at $BENCH_DB, made once by the suite before any server
starts (`python benches/frameworks.py prepare`); each server opens it. Connections are kept from
one request to the next (CONN_MAX_AGE None), as production sets them.
"""

import os
import sys

__all__ = ["DJANGO_BODY_START", "FLASK_BODY", "prepare"]  # and flask_app, django_app (__getattr__)

FLASK_BODY = b'{"message":"Hello, world!","name":"bench","numbers":[1,2,3,4,5,6,7,8,9,10]}\n'
DJANGO_BODY_START = b"<!DOCTYPE html>"
USERS = 20
PAGE = """<!DOCTYPE html>
<html><head><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
<ul>
{% for user in users %}  <li>{{ user.username }} &lt;{{ user.email }}&gt; since {{ user.date_joined|date:"Y-m-d" }}</li>
{% endfor %}</ul>
</body></html>
"""


def _flask():
    from flask import Flask, jsonify, request

    app = Flask("bench")
    app.json.sort_keys = True
    app.json.compact = True

    @app.get("/json")
    def json_view():
        return jsonify(message="Hello, world!", name=request.args.get("name", ""),
                       numbers=list(range(1, 11)))

    return app


def _django():
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["*"],
            SECRET_KEY="benchmark",
            ROOT_URLCONF=__name__,
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
            MIDDLEWARE=[],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                                   "NAME": os.environ.get("BENCH_DB", ":memory:"),
                                   "CONN_MAX_AGE": None}},
            TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                        "OPTIONS": {"loaders": [("django.template.loaders.locmem.Loader",
                                                 {"page.html": PAGE})]}}],
            USE_TZ=True,
        )
        django.setup()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def page(request):
    from django.contrib.auth.models import User
    from django.shortcuts import render

    users = User.objects.order_by("id")[:10]
    return render(request, "page.html", {"title": "Users", "users": users})


def _urls():
    from django.urls import path

    return [path("page", page)]


def __getattr__(name):
    # The apps are made when a server asks for them: the one a scenario does not use is never
    # imported. (urlpatterns is read by Django once its settings name this module.)
    if name == "flask_app":
        value = _flask()
    elif name == "django_app":
        value = _django()
    elif name == "urlpatterns":
        value = _urls()
    else:
        raise AttributeError(name)
    globals()[name] = value
    return value


def prepare():
    """Creates Django's tables and the users in the SQLite file at $BENCH_DB (once)."""
    _django()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for i in range(User.objects.count(), USERS):
        User.objects.create(username=f"user{i:02}", email=f"user{i:02}@example.test")


if __name__ == "__main__" and sys.argv[1:] == ["prepare"]:
    prepare()
