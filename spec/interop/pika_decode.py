#!/usr/bin/python3
"""Decodes field tables with pika's own decoder (pika.data.decode_table).

usage: /usr/bin/python3 pika_decode.py HEX_TABLE [HEX_TABLE...]

Each argument is a length-prefixed AMQP field table as hex (bytes coney
encoded). Prints one JSON document on stdout:

  {"pika_version": "1.2.0",
   "results": [{"value": <typed JSON, see pika_common.py> | null,
                "error": null | "<ExceptionClass>: <message>"}]}

Used for values that cannot travel through RabbitMQ at all (the broker
parses message headers and rejects NaN/Infinity doubles), so that pika's
decoding of them can still be checked against real bytes from coney.
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pika  # noqa: E402
import pika.data  # noqa: E402

from pika_common import emit, to_json  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        sys.exit(2)
    results = []
    for arg in sys.argv[1:]:
        data = bytes.fromhex(arg)
        try:
            table, offset = pika.data.decode_table(data, 0)
            if offset != len(data):
                raise ValueError('%d trailing byte(s)' % (len(data) - offset))
            results.append({'value': to_json(table), 'error': None})
        except Exception as exc:
            results.append({'value': None, 'error': '%s: %s' % (type(exc).__name__, exc)})
    emit({'pika_version': pika.__version__, 'results': results})


if __name__ == '__main__':
    main()
