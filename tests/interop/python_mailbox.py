#!/usr/bin/env python3
"""An independent reading of From and Sender fields: Python's email package
(email.headerregistry with policy.default), for sender_binding_interop_test.

Reads a JSON list of header blocks (hex, so that any byte gets through) on
stdin and writes a JSON list with one object per block:
  {"from_fields": n, "from": [[local, domain], ...] or null,
   "sender_fields": n, "sender": [[local, domain], ...] or null}
A field's list is null when Python had to guess: it registered a defect other
than ObsoleteHeaderDefect (obsolete syntax is valid RFC 5322), it found a
named group (From and Sender take mailboxes only), or it raised. With several
fields of one name, the first is read.
"""
import json
import sys
from email import errors, policy
from email.parser import BytesParser


def read(field):
    try:
        if any(not isinstance(d, errors.ObsoleteHeaderDefect) for d in field.defects):
            return None
        if any(g.display_name is not None for g in field.groups):
            return None
        return [[a.username, a.domain] for a in field.addresses]
    except Exception:  # a value Python cannot read at all
        return None


def main():
    out = []
    for block in json.load(sys.stdin):
        raw = bytes.fromhex(block) + b"Subject: x\r\n\r\nbody\r\n"
        message = BytesParser(policy=policy.default).parsebytes(raw)
        row = {}
        for name in ("from", "sender"):
            fields = message.get_all(name) or []
            row[name + "_fields"] = len(fields)
            row[name] = read(fields[0]) if fields else None
        out.append(row)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
