#!/usr/bin/python3
"""Consumes messages with pika (BlockingConnection) and prints them as JSON.

usage: /usr/bin/python3 pika_consume.py AMQP_URL QUEUE COUNT [TIMEOUT_SECONDS]

Prints one JSON document on stdout:

  {"pika_version": "1.2.0",
   "messages": [{"routing_key", "exchange", "redelivered",
                 "body": "<base64>",
                 "properties": {<the 14 properties as pika decoded them, typed JSON>},
                 "raw_properties": "<base64 of the content header bytes pika decoded,
                                     from the property flags on>"}],
   "error": null | "<ExceptionClass>: <message>"}

Exit status: 0 when COUNT messages were received and acked; 3 when fewer
arrived before TIMEOUT_SECONDS (default 20); 4 when pika raised (the error
is in "error", the messages decoded before it in "messages"); 2 on bad usage.

The raw content header bytes are captured by wrapping
pika.spec.BasicProperties.decode, so the test can check the exact encoding
that reached pika independently of pika's (buggy) field-table decoder.
"""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pika  # noqa: E402
import pika.spec  # noqa: E402

from pika_common import b64, emit, properties_to_json  # noqa: E402

RAW_PROPERTIES = []
_original_decode = pika.spec.BasicProperties.decode


def _capturing_decode(self, encoded, offset=0):
    RAW_PROPERTIES.append(bytes(encoded[offset:]))
    return _original_decode(self, encoded, offset)


pika.spec.BasicProperties.decode = _capturing_decode


def main():
    if len(sys.argv) not in (4, 5):
        sys.stderr.write(__doc__)
        sys.exit(2)
    url, queue, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) == 5 else 20.0
    document = {'pika_version': pika.__version__, 'messages': [], 'error': None}
    params = pika.URLParameters(url)
    params.socket_timeout = 10
    params.stack_timeout = 15
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=1)
        deadline = time.monotonic() + timeout
        for method, properties, body in channel.consume(queue, inactivity_timeout=0.5):
            if method is None:
                if time.monotonic() > deadline:
                    break
                continue
            index = len(document['messages'])
            document['messages'].append({
                'exchange': method.exchange,
                'routing_key': method.routing_key,
                'redelivered': method.redelivered,
                'body': b64(body),
                'properties': properties_to_json(properties),
                'raw_properties': b64(RAW_PROPERTIES[index]),
            })
            channel.basic_ack(method.delivery_tag)
            if len(document['messages']) == count:
                break
        channel.cancel()
    except Exception as exc:  # report pika's own failures (e.g. its decoder raising) as data
        document['error'] = '%s: %s' % (type(exc).__name__, exc)
        try:
            if connection.is_open:
                connection.close()
        except Exception:
            pass
        emit(document, 4)
    connection.close()
    emit(document, 0 if len(document['messages']) == count else 3)


if __name__ == '__main__':
    main()
