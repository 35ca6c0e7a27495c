#!/usr/bin/env bash
# Generates Python stubs for signet.v1 from the .proto files alone (protoc
# and Debian's grpc_python_plugin) and imports them with python3-grpcio: what
# a client in another language starts from.
set -euo pipefail
proto_dir=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
protoc -I "$proto_dir" --python_out="$out" --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
  "$proto_dir"/signet/v1/*.proto
cd "$out"
# Debian's interpreter, where python3-grpcio is installed (not a pyenv or venv
# python3 that may come first on PATH).
/usr/bin/python3 - <<'PY'
import grpc
from signet.v1 import directory_pb2_grpc, errors_pb2, keys_pb2, keys_pb2_grpc, mail_pb2, mail_pb2_grpc

assert hasattr(mail_pb2_grpc, "MailStub") and hasattr(keys_pb2_grpc, "KeysStub")
assert hasattr(directory_pb2_grpc, "DirectoryStub")
header = mail_pb2.SignMailRequest(header=mail_pb2.SignMailRequest.Header(key="bank-signing"))
assert mail_pb2.SignMailRequest.FromString(header.SerializeToString()).header.key == "bank-signing"
details = errors_pb2.ErrorDetails(ckr="CKR_DEVICE_ERROR", retryable=True)
assert errors_pb2.ErrorDetails.FromString(details.SerializeToString()).retryable
print("python stubs OK")
PY
