"""The native module declares that it needs the GIL (``gil_used = true``): until a free-threaded
CPython has run this suite, such an interpreter keeps the GIL on when it imports wsgiref-rs.

On a free-threaded interpreter (3.13t, 3.14t) that is observable directly (``sys._is_gil_enabled()``
after the import); on the usual builds from 3.13 on, the declaration is the ``Py_mod_gil`` slot
of the module's definition, read here with ctypes; before 3.13 there is no such slot.
"""

import ctypes
import os
import subprocess
import sys
import sysconfig

import wsgiref_rs._native as native

PY_MOD_GIL = 4  # Include/moduleobject.h
PY_MOD_GIL_USED = None  # ((void *)0)
PY_MOD_GIL_NOT_USED = 1  # ((void *)1)


class PyModuleDefSlot(ctypes.Structure):
    _fields_ = [("slot", ctypes.c_int), ("value", ctypes.c_void_p)]


class PyModuleDef(ctypes.Structure):
    # PyModuleDef_Base (PyObject_HEAD of a GIL build, m_init, m_index, m_copy), then the fields.
    _fields_ = [
        ("ob_refcnt", ctypes.c_ssize_t),
        ("ob_type", ctypes.c_void_p),
        ("m_init", ctypes.c_void_p),
        ("m_index", ctypes.c_ssize_t),
        ("m_copy", ctypes.c_void_p),
        ("m_name", ctypes.c_char_p),
        ("m_doc", ctypes.c_char_p),
        ("m_size", ctypes.c_ssize_t),
        ("m_methods", ctypes.c_void_p),
        ("m_slots", ctypes.POINTER(PyModuleDefSlot)),
    ]


def gil_slots(module):
    get_def = ctypes.pythonapi.PyModule_GetDef
    get_def.restype = ctypes.POINTER(PyModuleDef)
    get_def.argtypes = [ctypes.py_object]
    definition = get_def(module).contents
    assert definition.m_name == b"_native"
    values, i = [], 0
    while definition.m_slots and definition.m_slots[i].slot != 0:
        if definition.m_slots[i].slot == PY_MOD_GIL:
            values.append(definition.m_slots[i].value)
        i += 1
    return values


def test_the_module_asks_to_keep_the_gil():
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        proc = subprocess.run(
            [sys.executable, "-W", "ignore", "-c",
             "import sys, wsgiref_rs._native; print(sys._is_gil_enabled())"],
            capture_output=True, text=True, timeout=60, check=False,
            env={k: v for k, v in os.environ.items() if k != "PYTHON_GIL"},
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "True"
    elif sys.version_info >= (3, 13):
        assert gil_slots(native) == [PY_MOD_GIL_USED]
    else:
        assert gil_slots(native) == []  # no such slot before 3.13
