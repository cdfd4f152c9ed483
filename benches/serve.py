"""Starts one server on the benchmark app: python benches/serve.py NAME PORT.

NAME is stdlib (wsgiref.simple_server), wsgiref-rs (its drop-in make_server, logging silenced) or
bjoern. Run it under `taskset -c 0`.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from apps import app  # noqa: E402


def quiet(handler_base):
    class Quiet(handler_base):
        def log_message(self, *args):
            pass

    return Quiet


def main(name, port):
    if name == "bjoern":
        import bjoern

        bjoern.run(app, "127.0.0.1", port)
        return
    if name == "stdlib":
        import wsgiref.simple_server as module
    else:
        import wsgiref_rs.simple_server as module
    server = module.make_server("127.0.0.1", port, app, handler_class=quiet(module.WSGIRequestHandler))
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
