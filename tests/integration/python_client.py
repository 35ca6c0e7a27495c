#!/usr/bin/python3
"""A signet.v1 client in Python, from stubs that protoc made from proto/ alone.

    python_client.py STUBS_DIR SOCKET sign KEY IN OUT
    python_client.py STUBS_DIR SOCKET decrypt KEY IN OUT

Exits 0 on success; on a gRPC error prints "<CODE> <message>" and exits 1.
"""
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from signet.v1 import mail_pb2, mail_pb2_grpc  # noqa: E402

CHUNK = 64 * 1024


def requests(message_type, header, data):
    yield message_type(header=header)
    for offset in range(0, len(data), CHUNK):
        yield message_type(chunk=data[offset:offset + CHUNK])


def main():
    stubs, socket, operation, key, source, target = sys.argv[1:7]
    with open(source, "rb") as f:
        data = f.read()
    # Closed before the interpreter exits: a channel left open can keep
    # grpcio's threads, and with them the process, alive after main returns.
    with grpc.insecure_channel("unix:" + socket) as channel:
        stub = mail_pb2_grpc.MailStub(channel)
        if operation == "sign":
            calls = stub.SignMail(requests(mail_pb2.SignMailRequest,
                                           mail_pb2.SignMailRequest.Header(key=key), data),
                                  timeout=60)
        elif operation == "decrypt":
            calls = stub.DecryptMail(requests(mail_pb2.DecryptMailRequest,
                                              mail_pb2.DecryptMailRequest.Header(key=key),
                                              data),
                                     timeout=60)
        else:
            raise SystemExit("unknown operation " + operation)
        output = bytearray()
        try:
            for response in calls:
                if response.HasField("chunk"):
                    output += response.chunk
        except grpc.RpcError as error:
            print(error.code().name, error.details(), flush=True)
            return 1
    with open(target, "wb") as f:
        f.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
