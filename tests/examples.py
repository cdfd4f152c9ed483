"""How many examples the differential property tests try: each test's own number, scaled by the
environment variable WSGIREF_TESTS_EXAMPLES_SCALE (1 when unset). ``nox -s conformance``, which the
README's test command runs on every interpreter of the machine, sets 0.1; the main pytest run
and ``nox -s tests`` try them all."""

import os


def examples(count):
    scale = float(os.environ.get("WSGIREF_TESTS_EXAMPLES_SCALE") or 1)
    return max(1, round(count * scale))
