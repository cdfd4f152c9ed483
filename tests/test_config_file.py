"""The settings from a config file (``wsgiref-rs --config FILE.toml``) and from ``WSGIREF_RS_*``
environment variables (wsgiref_rs.server.config_file), layered under the command line
(wsgiref_rs.cli), and ``--log-config``: in-process for the parsing, as real processes for what
is served."""

import json
import os
import re
import signal
import sys

import pytest
from cli_support import LISTENING, get, own_environ, run_cli, wait_until

import wsgiref_rs
from wsgiref_rs import cli
from wsgiref_rs.server import config_file, logs
from wsgiref_rs.server.config import DEFAULTS, Config, ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def configured(argv, environ=None):
    """The checked Config the command line makes of ``argv`` and ``environ`` (nothing served)."""
    settings, sources = cli._settings(cli._command_line(cli._parser(), argv), environ or {})
    return cli._config(settings, sources)


@pytest.fixture
def environment(monkeypatch):
    """environment(variables): this process's environment for cli.main, with ``variables``
    instead of its own WSGIREF_RS_* ones."""

    def environment(variables):
        for name in [name for name in os.environ if name.startswith("WSGIREF_RS_")]:
            monkeypatch.delenv(name)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return environment


@pytest.fixture
def refusal(capsys, monkeypatch, environment):
    """refusal(argv, environ) -> the one line the command writes when it refuses ``argv`` with
    the variables ``environ``, with status 2."""

    def refusal(argv, environ=None, demo=None):
        environment(environ or {})
        monkeypatch.setattr(wsgiref_rs.server, "run", lambda config: pytest.fail("it serves"))
        with pytest.raises(SystemExit) as exited:
            cli.main(argv, demo=demo)
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        return err

    return refusal


def observed(config, setting):
    value = getattr(config, setting)
    return [str(address) for address in value] if setting == "addresses" else value


@pytest.fixture
def write(tmp_path):
    """write(text, name="server.toml") -> the path of a file holding ``text``."""

    def write(text, name="server.toml"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


# -- the file -----------------------------------------------------------------------------------

# One line of TOML per key type and setting, and what the checked Config holds then.
FILE_SETTINGS = [
    ('app = "myapp:create_app()"', "app", "myapp:create_app()"),
    ('bind = ["127.0.0.1:8000", "[::1]:8000"]', "addresses", ["127.0.0.1:8000", "[::1]:8000"]),
    ('bind = "0.0.0.0:80"', "addresses", ["0.0.0.0:80"]),
    ('uds = "/run/app.sock"', "addresses", ["unix:/run/app.sock"]),
    ('uds = ["/run/a.sock", "/run/b.sock"]', "addresses", ["unix:/run/a.sock", "unix:/run/b.sock"]),
    ("fd = 3", "addresses", ["fd://3"]),
    ("fd = [3, 4]", "addresses", ["fd://3", "fd://4"]),
    ("workers = 4", "workers", 4),
    ("threads = 8", "threads", 8),
    ("backlog = 64", "backlog", 64),
    ("keepalive_timeout = 2.5", "keepalive_timeout", 2.5),
    ("header-timeout = 3", "header_timeout", 3.0),  # an integer where seconds go
    ("limit_request_line = 1024", "limit_request_line", 1024),
    ("limit-request-fields = 50", "limit_request_fields", 50),
    ("limit_request_field_size = 4096", "limit_request_field_size", 4096),
    ("limit_request_body = 1048576", "limit_request_body", 1048576),
    ("access_log = false", "access_log", False),
    ("access_logformat = 'json'", "access_logformat", "json"),
    ('log_level = "WARNING"', "log_level", "warning"),
    ('log-config = "logging.json"', "log_config", "logging.json"),
    ('[log_config]\nversion = 1\nroot = {level = "INFO"}', "log_config",
     {"version": 1, "root": {"level": "INFO"}}),
    ('forwarded_allow_ips = "10.0.0.1"', "trusted", ["10.0.0.1"]),
    ('forwarded_allow_ips = "10.0.0.1, 10.0.0.2"', "trusted", ["10.0.0.1", "10.0.0.2"]),
    ('forwarded-allow-ips = ["10.0.0.1", "10.0.0.0/8", "unix"]', "trusted",
     ["10.0.0.1", "10.0.0.0/8", "unix"]),
    ('root_path = "/base/"', "root_path", "/base"),
    ('pid = "/run/app.pid"', "pid", "/run/app.pid"),
    ("reload = true", "reload", True),
    ("graceful_timeout = 10", "graceful_timeout", 10.0),
    ("timeout = 0", "timeout", 0.0),
    ("max_requests = 1000", "max_requests", 1000),
    ("max-requests = 1000\nmax-requests-jitter = 50", "max_requests_jitter", 50),
    ("max_rss = 512", "max_rss", 512),
    ("preload = true", "preload", True),
    ("proxy_protocol = true", "proxy_protocol", True),
    # TLS: files the test makes (@CERTS@ is their directory), read when the settings are checked.
    ('certfile = "@CERTS@/server.pem"\nkeyfile = "@CERTS@/server.key"', "certfile",
     "@CERTS@/server.pem"),
    ('certfile = "@CERTS@/server.pem"\nkeyfile = "@CERTS@/server.key"', "keyfile",
     "@CERTS@/server.key"),
    ('certfile = "@CERTS@/server.pem"\nkeyfile = "@CERTS@/server.key"\n'
     'ca-certs = "@CERTS@/ca.pem"', "ca_certs", "@CERTS@/ca.pem"),
    ('certfile = "@CERTS@/server.pem"\nkeyfile = "@CERTS@/server.key"\n'
     'ca_certs = "@CERTS@/ca.pem"\ncert_reqs = "required"', "cert_reqs", 2),
    ('metrics-bind = "127.0.0.1:9100"', "metrics_bind", "127.0.0.1:9100"),
]


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """The directory of the TLS files the cases name as @CERTS@."""
    import tls_support

    directory = tmp_path_factory.mktemp("certs")
    tls_support.make(directory)
    return str(directory)


def localized(value, certs):
    """``value`` with @CERTS@ made the certificates' directory (in strings and dicts)."""
    if isinstance(value, str):
        return value.replace("@CERTS@", certs)
    if isinstance(value, dict):
        return {localized(k, certs): localized(v, certs) for k, v in value.items()}
    return value


def with_app(text):
    # Top-level keys go before any [table]; app first, unless the case is about app.
    return text if text.startswith("app") else f'app = "testapp:app"\n{text}'


@pytest.mark.parametrize("text, setting, expected", FILE_SETTINGS)
def test_each_key_of_the_file_sets_its_setting(write, certs, text, setting, expected):
    text, expected = localized(text, certs), localized(expected, certs)
    config = configured(["--config", write(with_app(text))])
    assert observed(config, setting) == expected
    assert observed(configured(["testapp:app"]), setting) != expected  # not the default


def test_the_file_cases_cover_every_setting():
    keys = {key.replace("-", "_") for text, _, _ in FILE_SETTINGS for key in tomllib.loads(text)}
    assert keys == config_file.KINDS.keys()


def test_short_option_and_the_file_as_the_only_source_of_app(write):
    config = configured(["-c", write('app = "testapp:app"\nworkers = 3')])
    assert (config.app, config.workers) == ("testapp:app", 3)


@pytest.mark.parametrize("text, message", [
    ("worker = 4", "unknown key 'worker' (did you mean 'workers'?)"),
    ("max-request = 10", "unknown key 'max-request' (did you mean 'max-requests'?)"),
    ("max_request = 10", "unknown key 'max_request' (did you mean 'max_requests'?)"),
    ("WORKERS = 4", "unknown key 'WORKERS' (did you mean 'workers'?)"),
    ('colour = "blue"', "unknown key 'colour'"),
    ('workers = "4"', "'workers' must be an integer, not a string: \"4\""),
    ("workers = 4.0", "'workers' must be an integer, not a float: 4.0"),
    ("workers = true", "'workers' must be an integer, not a boolean: true"),
    ("workers = [4]", "'workers' must be an integer, not an array: [4]"),
    ('timeout = "30s"', "'timeout' must be a number, not a string: \"30s\""),
    ('access_log = "no"', "'access_log' must be a boolean, not a string: \"no\""),
    ("access-log = 0", "'access-log' must be a boolean, not an integer: 0"),
    ("bind = 8000", "'bind' must be a string or an array of strings, not an integer: 8000"),
    ('bind = ["127.0.0.1:8000", 8001]', "'bind' must be a string or an array of strings, not "
                                        "an array holding an integer: [\"127.0.0.1:8000\", 8001]"),
    ('bind = [["127.0.0.1:8000"]]', "'bind' must be a string or an array of strings, not an "
                                    "array holding an array: [[\"127.0.0.1:8000\"]]"),
    ('fd = [3, "4"]', "'fd' must be an integer or an array of integers, not an array holding a "
                      "string: [3, \"4\"]"),
    ("fd = [3, true]", "'fd' must be an integer or an array of integers, not an array holding a "
                       "boolean: [3, true]"),
    ("forwarded_allow_ips = 10", "'forwarded_allow_ips' must be a string or an array of "
                                 "strings, not an integer: 10"),
    ("log_config = 1", "'log_config' must be a string (a .toml or .json file's path) or a table "
                       "(the dictConfig), not an integer: 1"),
    ('root_path = {path = "/x"}', "'root_path' must be a string, not a table: {path = \"/x\"}"),
    ("pid = 1979-05-27", "'pid' must be a string, not a date: 1979-05-27"),
    ("max_requests = 1000\nmax-requests = 10",
     "'max_requests' and 'max-requests' are the same setting"),
    # The values the file's types allow go through Config's checks, like any other.
    ("workers = 0", "workers must be at least 1: 0"),
    ('bind = "::1:8000"', "bind address '::1:8000': write an IPv6 address in brackets, as "
                          "[::1]:8000"),
    ("max-requests-jitter = 5", "max_requests_jitter needs max_requests: the jitter is added to "
                                "it"),
    ('app = "testapp:"', "app 'testapp:': '' is not a name or a call (expected MODULE:NAME or "
                         "MODULE:FACTORY())"),
])
def test_a_bad_key_or_value_is_one_line_naming_the_file(refusal, write, text, message):
    path = write(text)
    argv = ["--config", path] if text.startswith("app") else ["testapp:app", "--config", path]
    assert refusal(argv) == f"wsgiref-rs: error: {path}: {message}\n"


def test_a_file_that_is_not_toml_is_one_line_with_tomls_line_and_column(refusal, write):
    path = write("workers = 4\nthreads =\n")
    err = refusal(["testapp:app", "-c", path])
    assert err.startswith(f"wsgiref-rs: error: {path}: not valid TOML: ")
    assert "line 2, column 10" in err


def test_a_file_that_is_not_utf8_is_one_line(refusal, tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('workers = 2\nroot_path = "/caf\xe9"\n'.encode("latin-1"))
    assert refusal(["testapp:app", "-c", str(path)]) == (
        f"wsgiref-rs: error: {path}: not valid TOML: not UTF-8 (at line 2, column 18)\n")


@pytest.mark.parametrize("name, reason", [("missing.toml", "No such file or directory"),
                                          (".", "Is a directory")])
def test_a_file_that_cannot_be_read_is_one_line(refusal, tmp_path, name, reason):
    path = tmp_path / name
    assert refusal(["testapp:app", "-c", str(path)]) == (
        f"wsgiref-rs: error: {path}: {reason}\n")


def test_an_empty_file_changes_nothing(write):
    assert vars(configured(["testapp:app", "-c", write("")])) == vars(configured(["testapp:app"]))


# -- the environment ----------------------------------------------------------------------------

ENV_SETTINGS = [
    ({"WSGIREF_RS_APP": "myapp:app"}, "app", "myapp:app"),
    ({"WSGIREF_RS_BIND": "127.0.0.1:8000,[::1]:8000"}, "addresses",
     ["127.0.0.1:8000", "[::1]:8000"]),
    ({"WSGIREF_RS_BIND": " 127.0.0.1:8000 , unix:/run/a.sock,"}, "addresses",
     ["127.0.0.1:8000", "unix:/run/a.sock"]),
    ({"WSGIREF_RS_UDS": "/run/a.sock,/run/b.sock"}, "addresses",
     ["unix:/run/a.sock", "unix:/run/b.sock"]),
    ({"WSGIREF_RS_FD": "3, 4"}, "addresses", ["fd://3", "fd://4"]),
    ({"WSGIREF_RS_WORKERS": "4"}, "workers", 4),
    ({"WSGIREF_RS_THREADS": "8"}, "threads", 8),
    ({"WSGIREF_RS_BACKLOG": "64"}, "backlog", 64),
    ({"WSGIREF_RS_KEEPALIVE_TIMEOUT": "2.5"}, "keepalive_timeout", 2.5),
    ({"WSGIREF_RS_HEADER_TIMEOUT": "3"}, "header_timeout", 3.0),
    ({"WSGIREF_RS_LIMIT_REQUEST_LINE": "1024"}, "limit_request_line", 1024),
    ({"WSGIREF_RS_LIMIT_REQUEST_FIELDS": "50"}, "limit_request_fields", 50),
    ({"WSGIREF_RS_LIMIT_REQUEST_FIELD_SIZE": "4096"}, "limit_request_field_size", 4096),
    ({"WSGIREF_RS_LIMIT_REQUEST_BODY": "1048576"}, "limit_request_body", 1048576),
    ({"WSGIREF_RS_ACCESS_LOG": "off"}, "access_log", False),
    ({"WSGIREF_RS_ACCESS_LOGFORMAT": "%(h)s %(s)s"}, "access_logformat", "%(h)s %(s)s"),
    ({"WSGIREF_RS_LOG_LEVEL": "debug"}, "log_level", "debug"),
    ({"WSGIREF_RS_LOG_CONFIG": "logging.toml"}, "log_config", "logging.toml"),
    ({"WSGIREF_RS_FORWARDED_ALLOW_IPS": "10.0.0.1,10.0.0.0/8"}, "trusted",
     ["10.0.0.1", "10.0.0.0/8"]),
    ({"WSGIREF_RS_FORWARDED_ALLOW_IPS": ""}, "trusted", []),  # nobody, as the option's ""
    ({"WSGIREF_RS_ROOT_PATH": "/base"}, "root_path", "/base"),
    ({"WSGIREF_RS_PID": "/run/app.pid"}, "pid", "/run/app.pid"),
    ({"WSGIREF_RS_RELOAD": "1"}, "reload", True),
    ({"WSGIREF_RS_GRACEFUL_TIMEOUT": "10"}, "graceful_timeout", 10.0),
    ({"WSGIREF_RS_TIMEOUT": "0"}, "timeout", 0.0),
    ({"WSGIREF_RS_MAX_REQUESTS": "1000"}, "max_requests", 1000),
    ({"WSGIREF_RS_MAX_REQUESTS": "1000", "WSGIREF_RS_MAX_REQUESTS_JITTER": "50"},
     "max_requests_jitter", 50),
    ({"WSGIREF_RS_MAX_RSS": "512"}, "max_rss", 512),
    ({"WSGIREF_RS_PRELOAD": "yes"}, "preload", True),
    ({"WSGIREF_RS_PROXY_PROTOCOL": "1"}, "proxy_protocol", True),
    ({"WSGIREF_RS_CERTFILE": "@CERTS@/server.pem", "WSGIREF_RS_KEYFILE": "@CERTS@/server.key"},
     "certfile", "@CERTS@/server.pem"),
    ({"WSGIREF_RS_CERTFILE": "@CERTS@/server.pem", "WSGIREF_RS_KEYFILE": "@CERTS@/server.key"},
     "keyfile", "@CERTS@/server.key"),
    ({"WSGIREF_RS_CERTFILE": "@CERTS@/server.pem", "WSGIREF_RS_KEYFILE": "@CERTS@/server.key",
      "WSGIREF_RS_CA_CERTS": "@CERTS@/ca.pem"}, "ca_certs", "@CERTS@/ca.pem"),
    ({"WSGIREF_RS_CERTFILE": "@CERTS@/server.pem", "WSGIREF_RS_KEYFILE": "@CERTS@/server.key",
      "WSGIREF_RS_CA_CERTS": "@CERTS@/ca.pem", "WSGIREF_RS_CERT_REQS": "optional"},
     "cert_reqs", 1),
    ({"WSGIREF_RS_METRICS_BIND": "[::1]:9100"}, "metrics_bind", "[::1]:9100"),
]


@pytest.mark.parametrize("environ, setting, expected", ENV_SETTINGS)
def test_each_variable_sets_its_setting(certs, environ, setting, expected):
    environ, expected = localized(environ, certs), localized(expected, certs)
    argv = [] if "WSGIREF_RS_APP" in environ else ["testapp:app"]
    assert observed(configured(argv, environ), setting) == expected
    assert observed(configured(["testapp:app"]), setting) != expected  # not the default


def test_the_variable_cases_cover_every_setting():
    names = {name for environ, _, _ in ENV_SETTINGS for name in environ}
    assert names == {config_file.variable(setting) for setting in config_file.KINDS}


@pytest.mark.parametrize("text, expected", [
    ("1", True), ("true", True), ("True", True), ("yes", True), ("ON", True),
    ("0", False), ("false", False), ("FALSE", False), ("no", False), ("off", False),
])
@pytest.mark.parametrize("setting", ["access_log", "reload", "preload"])
def test_booleans_are_spelt_as_containers_spell_them(setting, text, expected):
    config = configured(["testapp:app"], {config_file.variable(setting): text})
    assert getattr(config, setting) is expected


@pytest.mark.parametrize("environ, message", [
    ({"WSGIREF_RS_WOKERS": "4"},
     "unknown environment variable WSGIREF_RS_WOKERS (did you mean WSGIREF_RS_WORKERS?)"),
    ({"WSGIREF_RS_MAXREQUESTS": "4"},
     "unknown environment variable WSGIREF_RS_MAXREQUESTS (did you mean "
     "WSGIREF_RS_MAX_REQUESTS?)"),
    ({"WSGIREF_RS_CONFIGFILE": "x.toml"},
     "unknown environment variable WSGIREF_RS_CONFIGFILE (did you mean WSGIREF_RS_CONFIG?)"),
    ({"WSGIREF_RS_COLOUR": "blue"}, "unknown environment variable WSGIREF_RS_COLOUR"),
    ({"WSGIREF_RS_WORKERS": "four"}, "WSGIREF_RS_WORKERS must be an integer: 'four'"),
    ({"WSGIREF_RS_WORKERS": ""}, "WSGIREF_RS_WORKERS must be an integer: ''"),
    ({"WSGIREF_RS_WORKERS": "4.0"}, "WSGIREF_RS_WORKERS must be an integer: '4.0'"),
    ({"WSGIREF_RS_TIMEOUT": "30s"}, "WSGIREF_RS_TIMEOUT must be a number: '30s'"),
    ({"WSGIREF_RS_ACCESS_LOG": "maybe"}, "WSGIREF_RS_ACCESS_LOG must be a boolean (1, 0, true, "
                                         "false, yes, no, on, off): 'maybe'"),
    ({"WSGIREF_RS_FD": "3,x"}, "WSGIREF_RS_FD must be integers separated by commas: '3,x'"),
    # The values go through Config's checks, which name the setting: the variable is named too.
    ({"WSGIREF_RS_WORKERS": "0"}, "WSGIREF_RS_WORKERS: workers must be at least 1: 0"),
    ({"WSGIREF_RS_BIND": "::1:8000"}, "WSGIREF_RS_BIND: bind address '::1:8000': write an IPv6 "
                                      "address in brackets, as [::1]:8000"),
    ({"WSGIREF_RS_ROOT_PATH": "base"}, "WSGIREF_RS_ROOT_PATH: root_path must start with '/': "
                                       "'base'"),
])
def test_a_bad_variable_is_one_line_naming_it(refusal, environ, message):
    assert refusal(["testapp:app"], environ) == f"wsgiref-rs: error: {message}\n"


def test_the_handover_variable_and_other_programs_variables_are_not_settings():
    environ = {"WSGIREF_RS_HANDOVER": '{"listeners": []}', "PATH": "/bin", "WSGIREF_RSX": "1",
               "wsgiref_rs_workers": "4", "GUNICORN_CMD_ARGS": "--workers 4"}
    assert vars(configured(["testapp:app"], environ)) == vars(configured(["testapp:app"]))


def test_wsgiref_rs_config_names_the_file_when_the_command_line_does_not(write):
    environ = {"WSGIREF_RS_CONFIG": write("workers = 3", "env.toml")}
    assert configured(["testapp:app"], environ).workers == 3
    assert configured(["testapp:app", "-c", write("workers = 5")], environ).workers == 5


# -- the layers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("in_file", [False, True], ids=["", "file"])
@pytest.mark.parametrize("in_environment", [False, True], ids=["", "env"])
@pytest.mark.parametrize("on_command_line", [False, True], ids=["", "cli"])
def test_the_command_line_wins_over_the_environment_which_wins_over_the_file(
        write, in_file, in_environment, on_command_line):
    argv = ["testapp:app", "-c", write('root_path = "/file"' if in_file else "")]
    environ = {"WSGIREF_RS_ROOT_PATH": "/env"} if in_environment else {}
    if on_command_line:
        argv += ["--root-path", "/cli"]
    expected = ("/cli" if on_command_line else "/env" if in_environment
                else "/file" if in_file else DEFAULTS["root_path"])
    assert configured(argv, environ).root_path == expected


def test_a_list_on_a_higher_layer_replaces_the_lower_ones(write):
    path = write('bind = ["127.0.0.1:8001", "127.0.0.1:8002"]')
    environ = {"WSGIREF_RS_BIND": "127.0.0.1:8003"}
    assert observed(configured(["testapp:app", "-c", path]), "addresses") == [
        "127.0.0.1:8001", "127.0.0.1:8002"]
    assert observed(configured(["testapp:app", "-c", path], environ), "addresses") == [
        "127.0.0.1:8003"]
    assert observed(configured(["testapp:app", "-c", path, "-b", "127.0.0.1:8004"], environ),
                    "addresses") == ["127.0.0.1:8004"]


def test_an_option_given_at_its_default_still_wins(write):
    path = write("workers = 4\naccess_log = false\ntimeout = 0")
    environ = {"WSGIREF_RS_WORKERS": "3", "WSGIREF_RS_ACCESS_LOG": "0"}
    config = configured(["testapp:app", "-c", path, "-w", "1", "--access-log", "-t", "30"],
                        environ)
    assert (config.workers, config.access_log, config.timeout) == (1, True, 30.0)


def test_the_app_on_the_command_line_wins(write):
    environ = {"WSGIREF_RS_APP": "envapp:app"}
    path = write('app = "fileapp:app"')
    assert configured(["-c", path]).app == "fileapp:app"
    assert configured(["-c", path], environ).app == "envapp:app"
    assert configured(["cliapp:app", "-c", path], environ).app == "cliapp:app"


def test_with_no_file_and_no_variable_nothing_changes():
    config = configured(["testapp:app"], {"PATH": "/bin"})
    assert vars(config) == vars(Config(app="testapp:app", **DEFAULTS).check())


def test_without_an_app_anywhere_the_command_needs_one(refusal, write):
    assert refusal(["-c", write("workers = 4")], {"WSGIREF_RS_WORKERS": "2"}) == (
        "wsgiref-rs: error: the following arguments are required: APP\n")


def test_the_demo_runs_whatever_the_environment_says_but_not_with_a_file(refusal, write,
                                                                        environment):
    def demo(host, port):
        return ("demo", host, port)

    environment({"WSGIREF_RS_WORKERS": "2"})  # settings for an APP: none here
    assert cli.main(["--port", "0"], demo=demo) == ("demo", "127.0.0.1", 0)
    assert refusal(["-c", write("workers = 4")], {"WSGIREF_RS_WORKERS": "2"}, demo=demo) == (
        "wsgiref-rs: error: the following arguments are required: APP\n")


# -- --log-config -------------------------------------------------------------------------------


def test_a_log_config_is_read_from_toml_and_json(write):
    assert logs.read_log_config(write('version = 1\n[root]\nlevel = "INFO"', "log.toml")) == {
        "version": 1, "root": {"level": "INFO"}}
    assert logs.read_log_config(write('{"version": 1, "root": {"level": "INFO"}}',
                                      "log.json")) == {"version": 1, "root": {"level": "INFO"}}


@pytest.mark.parametrize("name, text, message", [
    ("log.yaml", "version: 1", "a logging configuration is a .toml or .json file"),
    ("log.json", '{"version": 1,', "not valid JSON: Expecting property name enclosed in double "
                                   "quotes: line 1 column 15 (char 14)"),
    ("log.json", "[1]", "not a dictConfig (a JSON object)"),
    ("log.toml", "version =\n", "not valid TOML: Invalid value (at line 1, column 10)"),
])
def test_a_log_config_that_cannot_be_read_names_the_file(write, name, text, message):
    path = write(text, name)
    with pytest.raises(ConfigError) as refused:
        logs.read_log_config(path)
    assert str(refused.value) == f"log_config: {path}: {message}"


def test_log_config_must_be_a_path_or_a_dict():
    for value in (5, "", ["log.toml"]):
        with pytest.raises(ConfigError, match="log_config must be a .toml or .json file's path, "
                                              "or a dict for logging.config.dictConfig"):
            Config(app="testapp:app", log_config=value).check()


LOG_FORMAT = "%(name)s %(levelname)s %(message)s"


def dict_config(log_file):
    return {
        "version": 1,
        "formatters": {"plain": {"format": LOG_FORMAT}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(log_file),
                              "formatter": "plain"}},
        "root": {"handlers": ["file"], "level": "INFO"},
    }


def as_toml(table, prefix=""):
    """A dictConfig as TOML (tables of strings, lists and numbers: what dict_config holds)."""
    lines, tables = [], []
    for key, value in table.items():
        if isinstance(value, dict):
            tables.append((f"{prefix}{key}", value))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    for name, value in tables:
        lines += [f"[{name}]", as_toml(value, f"{name}.")]
    return "\n".join(lines)


SERVE_WITH_LOG_CONFIG = """\
import json, sys
import wsgiref_rs
from testapp import app

wsgiref_rs.serve(app, bind="127.0.0.1:0", log_config=json.loads(sys.argv[1]))
"""


@pytest.mark.parametrize("given", ["--log-config x.toml", "--log-config x.json",
                                   "[log_config] in --config", "serve(log_config=dict)"])
def test_the_log_configs_handlers_take_the_servers_records(start, app_dir, given):
    log_file = app_dir / "server.log"
    settings = dict_config(log_file)
    if given == "--log-config x.toml":
        (app_dir / "x.toml").write_text(as_toml(settings))
        server = start("testapp:app", "--bind", "127.0.0.1:0", "--log-config", "x.toml")
    elif given == "--log-config x.json":
        (app_dir / "x.json").write_text(json.dumps(settings))
        server = start("testapp:app", "--bind", "127.0.0.1:0", "--log-config", "x.json")
    elif given == "[log_config] in --config":
        (app_dir / "server.toml").write_text(
            'app = "testapp:app"\nbind = "127.0.0.1:0"\n[log_config]\n'
            + as_toml(settings, "log_config."))
        server = start("-c", "server.toml")
    else:
        server = start(command=[sys.executable, "-c", SERVE_WITH_LOG_CONFIG,
                                json.dumps(settings)])
    logged = wait_until(lambda: log_file.exists() and LISTENING.search(log_file.read_text()),
                        what="the Listening line in the log file")
    assert int(logged.group(2)) == server.pid
    port = int(logged.group(1).rsplit(":", 1)[1])
    assert get(port, "/logged")[0] == 200
    wait_until(lambda: '"GET /logged HTTP/1.1" 200' in log_file.read_text(),
               what="the access line in the log file")
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    lines = log_file.read_text().splitlines()
    assert f"wsgiref_rs.server INFO Starting wsgiref-rs {wsgiref_rs.__version__}" in lines
    assert any(re.fullmatch(r'wsgiref_rs\.access INFO 127\.0\.0\.1 - - \[.*\] "GET /logged '
                            r'HTTP/1\.1" 200 \d+', line) for line in lines), lines
    assert lines[-1] == "wsgiref_rs.server INFO Stopped"
    # The server's own handlers are not there: nothing on stderr or stdout.
    assert (server.err, server.out) == ([], [])


def test_a_log_config_that_logging_refuses_is_one_line_and_status_2(app_dir):
    (app_dir / "log.json").write_text(json.dumps(dict_config(app_dir / "no" / "such.log")))
    code, out, err = run_cli(["testapp:app", "--bind", "127.0.0.1:0", "--log-config",
                              "log.json"], app_dir)
    no_such = app_dir / "no" / "such.log"
    assert (code, out, err) == (2, "", f"wsgiref-rs: error: --log-config: log.json: Unable to "
                                       f"configure handler 'file': [Errno 2] No such file or "
                                       f"directory: '{no_such}'\n")


# -- as real processes --------------------------------------------------------------------------


FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def test_the_file_alone_serves_the_app_with_its_settings(start, app_dir):
    (app_dir / "server.toml").write_text(
        'app = "testapp:app"\n'
        'bind = ["127.0.0.1:0"]\n'
        "workers = 2\n"
        "threads = 4\n"
        'root-path = "/file"\n'
        "access_log = false\n"
        'forwarded_allow_ips = ["10.0.0.0/8"]\n')
    server = start("--config", "server.toml")
    status, body = get(server.port, "/x", headers=FORWARDED)
    assert status == 200
    assert (body["multiprocess"], body["multithread"]) == (True, True)
    assert (body["script_name"], body["path_info"]) == ("/file", "/x")
    assert (body["remote_addr"], body["url_scheme"]) == ("127.0.0.1", "http")  # not trusted
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    assert server.out == []  # no access log


def test_the_three_layers_in_a_real_process(start, app_dir):
    (app_dir / "server.toml").write_text(
        'app = "testapp:app"\nbind = "127.0.0.1:0"\nroot_path = "/file"\nthreads = 4\n'
        "access-log = false\n")
    env = dict(own_environ(), WSGIREF_RS_ROOT_PATH="/env", WSGIREF_RS_THREADS="0",
               WSGIREF_RS_TIMEOUT="0")
    server = start("-c", "server.toml", "--root-path", "/cli", env=env)
    status, body = get(server.port)
    assert status == 200
    assert body["script_name"] == "/cli"  # the command line over the environment
    assert body["multithread"] is False  # the environment over the file
    assert body["pid"] == server.pid  # the environment's timeout 0: no supervisor
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    assert server.out == []  # the file's access_log, which nothing above it sets


def test_the_environment_alone_gives_the_app_and_its_sockets(start, app_dir):
    env = dict(own_environ(), WSGIREF_RS_APP="testapp:app",
               WSGIREF_RS_BIND="127.0.0.1:0,[::1]:0")
    server = start(env=env)
    v4, v6 = server.listening(count=2)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", v4)
    assert re.fullmatch(r"http://\[::1\]:\d+", v6)
    assert get(int(v6.rsplit(":", 1)[1]), host="::1")[0] == 200
    server.signal(signal.SIGTERM)
    assert server.wait() == 0


@pytest.mark.parametrize("file_text, env, message", [
    ("worker = 2\n", {}, "{path}: unknown key 'worker' (did you mean 'workers'?)"),
    ('workers = "2"\n', {}, "{path}: 'workers' must be an integer, not a string: \"2\""),
    ("workers = = 2\n", {}, "{path}: not valid TOML: Invalid value (at line 1, column 11)"),
    ("", {"WSGIREF_RS_THREAD": "4"},
     "unknown environment variable WSGIREF_RS_THREAD (did you mean WSGIREF_RS_THREADS?)"),
])
def test_file_and_variable_errors_end_the_command_with_one_line_and_status_2(
        app_dir, file_text, env, message):
    path = app_dir / "server.toml"
    path.write_text(file_text)
    code, out, err = run_cli(["testapp:app", "-c", str(path)], app_dir,
                             env=dict(own_environ(), **env))
    assert (code, out, err) == (2, "", f"wsgiref-rs: error: {message.format(path=path)}\n")


SERVE_SCRIPT = """\
import wsgiref_rs
from testapp import app

wsgiref_rs.serve(app, bind="127.0.0.1:0", access_log=False)
"""


def test_serve_reads_no_variable(start):
    # serve()'s keywords are its whole configuration: the environment is the command line's.
    env = dict(own_environ(), WSGIREF_RS_ROOT_PATH="/env", WSGIREF_RS_NOT_A_SETTING="1",
               WSGIREF_RS_CONFIG="missing.toml")
    server = start(command=[sys.executable, "-c", SERVE_SCRIPT], env=env)
    status, body = get(server.port)
    assert status == 200
    assert body["script_name"] == ""
    server.signal(signal.SIGTERM)
    assert server.wait() == 0


def test_a_reload_with_preload_reads_the_file_again_unless_it_would_not_start(start, app_dir):
    config = app_dir / "server.toml"
    config.write_text('app = "testapp:app"\nbind = "127.0.0.1:0"\npreload = true\n'
                      'root_path = "/v1"\n')
    server = start("-c", "server.toml")
    port = server.port
    status, first = get(port)
    assert (status, first["script_name"]) == (200, "/v1")

    # SIGHUP executes the supervisor afresh, which reads the edited file.
    config.write_text(config.read_text().replace("/v1", "/v2"))
    server.signal(signal.SIGHUP)
    second = wait_until(lambda: (lambda body: body["script_name"] == "/v2" and body)(
        get(port)[1]), what="a worker with the edited root_path")
    assert second["pid"] != first["pid"]

    # A file that would stop the new program: the supervisor stays, says why, and reloads with
    # what it has.
    config.write_text(config.read_text() + 'workers = "2"\n')
    server.signal(signal.SIGHUP)
    [refused] = server.wait_for(r"ERROR wsgiref_rs\.server: Not executing the supervisor afresh")
    assert ("its settings would not start: server.toml: 'workers' must be an integer, not a "
            'string: "2"') in refused.string
    third = wait_until(lambda: (lambda body: body["pid"] != second["pid"] and body)(
        get(port)[1]), what="a new worker")
    assert third["script_name"] == "/v2"
    assert server.proc.poll() is None
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
