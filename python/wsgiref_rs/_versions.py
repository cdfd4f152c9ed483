"""Where CPython's ``wsgiref`` changed between 3.9 and 3.13: wsgiref-rs follows the interpreter
it runs on, and each difference is named here once.

In Python (these constants):

* ``SETS_REMOTE_HOST``: ``WSGIRequestHandler.get_environ()`` sets ``REMOTE_HOST`` from an
  ``address_string()`` that differs from the client's address before 3.13 only;
* ``UTIL_ALL_HAS_IS_HOP_BY_HOP``: ``wsgiref.util.__all__`` lists ``is_hop_by_hop`` from 3.13 on.

``wsgiref.types`` is new in 3.11; ``wsgiref_rs.types`` is there on every version (and
``import wsgiref.types`` after ``install()``), an addition the README lists.

In the native module, chosen when it is built for an interpreter (the ``Py_3_*`` cfgs of
``build.rs``): ``FileWrapper.__getitem__`` with its DeprecationWarning before 3.11;
``start_response`` with ``exc_info`` after the headers were sent raises
``exc_info[0](exc_info[1])`` before 3.11 and re-raises the exception being handled from 3.11 on;
``BaseHandler._validate_status`` from 3.12 on, which checks the status even under ``-O``;
deleting a ``FileWrapper`` attribute that is not set raises ``AttributeError`` naming only the
attribute before 3.11, as CPython's attribute deletion did.

The rest follows by itself: the reason phrases (``http.HTTPStatus``) and everything that
``WSGIServer`` and ``WSGIRequestHandler`` inherit from the running ``http.server``.

Security fixes stay on for every version: ``Headers`` refuses control characters everywhere.
"""

import sys

SETS_REMOTE_HOST = sys.version_info < (3, 13)
UTIL_ALL_HAS_IS_HOP_BY_HOP = sys.version_info >= (3, 13)
