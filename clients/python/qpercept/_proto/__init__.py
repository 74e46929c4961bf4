# SPDX-License-Identifier: Apache-2.0
"""Find or make qpercept_pb2, the protobuf module of proto/qpercept.proto.

Generated code is never committed. The module is taken from the first of:

1. ``$QPERCEPT_PB2_DIR/qpercept_pb2.py``: what the CMake build generates
   (``BUILD/python/qpercept_pb2.py``, target ``qp_python_proto``; the
   tests point the variable there);
2. ``qpercept_pb2.py`` beside this file: where a packager may generate it;
3. protoc (Debian protobuf-compiler) run on the schema, ``$QPERCEPT_PROTO``
   or this checkout's ``proto/qpercept.proto``, into a temporary directory
   that is removed once the module is loaded, so ``python3 -m qpercept``
   works from a plain checkout.

``pb`` is the module, ``source`` says where it came from. Loading it twice
is avoided: the generated code registers qpercept.proto in protobuf's
default descriptor pool.
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

_NAME = "qpercept._proto.qpercept_pb2"
_HERE = os.path.dirname(os.path.abspath(__file__))
_CHECKOUT_PROTO = os.path.join(_HERE, "..", "..", "..", "..", "proto", "qpercept.proto")


def _load(path):
    spec = importlib.util.spec_from_file_location(_NAME, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[_NAME] = module
    return module


def _generate():
    proto = os.environ.get("QPERCEPT_PROTO") or os.path.normpath(_CHECKOUT_PROTO)
    if not os.path.isfile(proto):
        raise ImportError(
            "qpercept: no generated qpercept_pb2.py (set QPERCEPT_PB2_DIR to the build's "
            f"python/ directory) and no schema at {proto} to generate it from")
    protoc = shutil.which("protoc")
    if not protoc:
        raise ImportError("qpercept: qpercept_pb2.py not generated and protoc not found "
                          "(Debian: apt-get install protobuf-compiler)")
    tmp = tempfile.mkdtemp(prefix="qpercept_pb2_")
    try:
        run = subprocess.run(
            [protoc, f"--python_out={tmp}", f"-I{os.path.dirname(proto)}", proto],
            capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise ImportError(f"qpercept: protoc {proto} failed: {run.stderr.strip()}")
        return _load(os.path.join(tmp, "qpercept_pb2.py"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _find():
    if _NAME in sys.modules:
        return sys.modules[_NAME], "loaded"
    env_dir = os.environ.get("QPERCEPT_PB2_DIR")
    for where, directory in (("QPERCEPT_PB2_DIR", env_dir), ("package", _HERE)):
        path = os.path.join(directory, "qpercept_pb2.py") if directory else None
        if path and os.path.isfile(path):
            return _load(path), where
    return _generate(), "protoc"


pb, source = _find()
