"""Flask and Django POSTs (JSON, an urlencoded form, a multipart upload), each app served bare and
wrapped in the validator, by the standard library's server with its validator and by ours with
ours: the same status and the same answer.

The environ decides it: Werkzeug reads ``wsgi.input`` with no size when ``wsgi.input_terminated``
is true, which the validator's input wrapper refuses. The standard library never says so, and the
engine says so only for a chunked body, which the standard library cannot frame at all.
"""

import hashlib
import json
import wsgiref.simple_server as std
import wsgiref.validate as std_validate

import pytest
import requests
from live_http import TIMEOUT, QuietHandler
from serving import start_server

import wsgiref_rs.simple_server as ours
import wsgiref_rs.validate as ours_validate

UPLOAD = bytes(range(256)) * 800  # 200 KiB: the multipart parsers read it in several pieces


class StdQuietHandler(std.WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def flask_app():
    import flask

    app = flask.Flask("posts")

    @app.post("/json")
    def json_post():
        return flask.jsonify(got=flask.request.get_json())

    @app.post("/form")
    def form_post():
        return flask.jsonify(got=flask.request.form.to_dict())

    @app.post("/upload")
    def upload_post():
        upload = flask.request.files["file"]
        data = upload.read()
        return flask.jsonify(
            name=upload.filename,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            note=flask.request.form["note"],
        )

    return app.wsgi_app


def django_app():
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__,
            SECRET_KEY="posts",
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            # Keep uploads in memory: the test compares what the view read, not temporary files.
            FILE_UPLOAD_MAX_MEMORY_SIZE=1 << 20,
        )
        import django

        django.setup()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def django_json(request):
    from django.http import JsonResponse

    return JsonResponse({"got": json.loads(request.body)})


def django_form(request):
    from django.http import JsonResponse

    return JsonResponse({"got": request.POST.dict()})


def django_upload(request):
    from django.http import JsonResponse

    upload = request.FILES["file"]
    data = upload.read()
    return JsonResponse(
        {
            "name": upload.name,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "note": request.POST["note"],
        }
    )


def _urlpatterns():
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    return [
        path("json", csrf_exempt(django_json)),
        path("form", csrf_exempt(django_form)),
        path("upload", csrf_exempt(django_upload)),
    ]


urlpatterns = _urlpatterns()

FRAMEWORKS = {"flask": flask_app, "django": django_app}


def post(session, base, kind):
    if kind == "json":
        return session.post(f"{base}/json", json={"a": [1, 2, 3], "b": "é"}, timeout=TIMEOUT)
    if kind == "form":
        return session.post(f"{base}/form", data={"name": "wsgi ref", "x": "1&2"}, timeout=TIMEOUT)
    return session.post(
        f"{base}/upload",
        data={"note": "hello"},
        files={"file": ("data.bin", UPLOAD, "application/octet-stream")},
        timeout=TIMEOUT,
    )


def answers(module, validate, app, handler_class):
    """Each kind of POST, twice on one keep-alive session: (status, JSON answer) for each."""
    wrapped = validate.validator(app) if validate is not None else app
    running = start_server(wrapped, module=module, handler_class=handler_class)
    try:
        with requests.Session() as session:
            out = []
            for kind in ("json", "form", "upload", "json", "upload"):
                r = post(session, running.url, kind)
                out.append((kind, r.status_code, r.json() if r.status_code == 200 else r.text))
            return out
    finally:
        running.stop()


@pytest.mark.parametrize("validated", [False, True], ids=["bare", "validator"])
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_posts_answer_as_under_the_standard_library(framework, validated, recwarn):
    app = FRAMEWORKS[framework]()
    expected = answers(std, std_validate if validated else None, app, StdQuietHandler)
    got = answers(ours, ours_validate if validated else None, app, QuietHandler)
    assert [status for _, status, _ in expected] == [200] * 5, expected
    assert got == expected
    upload = dict(expected[2][2])
    assert upload["size"] == len(UPLOAD)
    assert upload["sha256"] == hashlib.sha256(UPLOAD).hexdigest()
