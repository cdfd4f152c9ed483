"""Each setting is defined once, under one name from the command line to the engine: the native
module's ``DEFAULTS`` (the engine's settings), the production server's ``Config``, the
``wsgiref-rs`` options, ``serve()``'s keywords, the config file's keys and environment variables,
the ``WSGIServer`` attributes, the ``Engine`` keywords and the stub agree, name for name and
default for default."""

import argparse
import ast
import inspect
from pathlib import Path

import pytest

import wsgiref_rs
from wsgiref_rs import _native, cli
from wsgiref_rs.server import config, config_file
from wsgiref_rs.simple_server import WSGIServer, demo_app, make_server

ENGINE = dict(_native.DEFAULTS)
STUB = Path(_native.__file__).with_name("_native.pyi")

# The engine's settings that are no WSGIServer attribute, with what stands for them there:
# threads is engine_threads (16 with ThreadingMixIn), and max_connections is None (the
# descriptor limit) rather than the engine's own default.
NOT_ATTRIBUTES = {"threads": "engine_threads", "max_connections": None}
# The engine's settings the production server does not expose (it derives max_connections).
NOT_SERVED = {"engine_timeout", "max_connections"}


def test_the_engine_defaults_are_the_documented_ones():
    assert ENGINE == {
        "engine_timeout": 60.0, "keepalive_timeout": 5.0, "header_timeout": 10.0,
        "max_connections": 10000, "threads": 0, "limit_request_line": 65536,
        "limit_request_fields": 100, "limit_request_field_size": 65536,
        "limit_request_body": None,
    }


def test_every_engine_setting_is_an_engine_keyword():
    # The signature as the native class reports it (its text signature).
    keywords = {name for name, p in inspect.signature(_native.Engine).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert set(ENGINE) <= keywords


def test_every_engine_setting_is_a_keyword_of_the_stubs_engine():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    engine = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Engine")
    new = next(n for n in engine.body if isinstance(n, ast.FunctionDef) and n.name == "__new__")
    keywords = {arg.arg for arg in new.args.kwonlyargs}
    assert set(ENGINE) <= keywords


def test_the_servers_config_takes_the_engines_defaults():
    assert config.DEFAULTS.keys() == inspect.signature(wsgiref_rs.serve).parameters.keys() - {"app"}
    for name in set(ENGINE) - NOT_SERVED:
        assert config.DEFAULTS[name] == ENGINE[name], name
    assert NOT_SERVED.isdisjoint(config.DEFAULTS)


def test_serve_has_every_setting_with_its_default():
    parameters = inspect.signature(wsgiref_rs.serve).parameters
    defaults = {name: p.default for name, p in parameters.items() if name != "app"}
    assert defaults == config.DEFAULTS


@pytest.mark.parametrize("demo", [False, True], ids=["wsgiref-rs", "python -m wsgiref_rs"])
def test_the_command_line_has_every_setting_with_its_default(demo):
    parser = cli._parser(demo=demo)
    options = {a.dest: a for a in parser._actions if a.option_strings and a.dest != "help"}
    options.pop("version")
    # The file the settings come from: no setting, and nothing in the namespace unless given.
    assert options.pop("config").default is argparse.SUPPRESS
    if demo:
        assert (options.pop("host").default, options.pop("port").default) == (
            config.DEFAULT_HOST, config.DEFAULT_PORT)
    assert options.keys() == config.DEFAULTS.keys()
    for name, action in options.items():
        assert f"--{name.replace('_', '-')}" in action.option_strings
        assert action.default == config.DEFAULTS[name], name
        assert parser.get_default(name) == config.DEFAULTS[name], name


def test_the_command_lines_arguments_are_the_configs_settings():
    args = cli._parser().parse_args(["app:app"])
    assert {name: value for name, value in vars(args).items() if name != "app"} == config.DEFAULTS


def test_the_config_file_and_the_environment_know_every_setting_as_the_options_type_it():
    assert config_file.KINDS.keys() == {"app", *config.DEFAULTS}
    kinds = {int: {config_file.INTEGER, config_file.INTEGERS}, float: {config_file.NUMBER}}
    for action in cli._parser()._actions:
        if action.dest not in config.DEFAULTS:
            continue
        kind = config_file.KINDS[action.dest]
        if action.nargs == 0 or isinstance(action, argparse.BooleanOptionalAction):
            assert kind is config_file.BOOLEAN, action.dest
        elif isinstance(action, argparse._AppendAction):
            assert kind in (config_file.STRINGS, config_file.INTEGERS), action.dest
            assert (kind is config_file.INTEGERS) == (action.type is int), action.dest
        else:
            assert kind in kinds.get(action.type, {config_file.STRING, config_file.STRINGS,
                                                   config_file.LOG_CONFIG}), action.dest
        assert config_file.variable(action.dest) == "WSGIREF_RS_" + action.dest.upper()


def test_wsgiserver_attributes_are_the_engines_defaults():
    for name, default in ENGINE.items():
        if name in NOT_ATTRIBUTES:
            continue
        assert getattr(WSGIServer, name) == default, name
    assert WSGIServer.max_connections is None
    assert WSGIServer.engine_threads is None


def test_make_server_attributes_are_the_engines_defaults():
    with make_server("127.0.0.1", 0, demo_app) as server:
        for name, default in ENGINE.items():
            if name not in NOT_ATTRIBUTES:
                assert getattr(server, name) == default, name
