#!/usr/bin/python3
"""Publishes messages with pika (BlockingConnection, publisher confirms) and
prints, as JSON, exactly what it sent.

usage: /usr/bin/python3 pika_publish.py AMQP_URL QUEUE

Publishes to the default exchange with routing key QUEUE (mandatory, so an
unroutable message fails the script):

  1. a message with all 14 BasicProperties set and headers holding every
     value type pika 1.2 can encode (str, unicode, bool, int in and beyond
     int32, int64 limits, pika.compat.long, Decimal, datetime, bytes, None,
     nested dicts, lists holding dicts);
  2. a message without any property and with an empty body.

Prints one JSON document on stdout (typed JSON, see pika_common.py):

  {"pika_version": "1.2.0",
   "messages": [{"body": "<base64>", "properties": {...as given to pika...},
                 "raw_properties": "<base64 of the content header bytes pika
                                    encoded, from the property flags on>",
                 "header_encodings": {key: "<hex of pika.data.encode_value(value)>"}}],
   "unsupported": [{"what", "value", "error"}]}

"unsupported" records the values pika 1.2 refuses to encode at all (floats,
integers outside int64), found by calling pika.data.encode_value directly.
Exit status: 0 on success; 2 on bad usage; anything else is a failure.
"""
import datetime
import decimal
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pika  # noqa: E402
import pika.data  # noqa: E402
import pika.spec  # noqa: E402
from pika.compat import long as pika_long  # noqa: E402

from pika_common import b64, emit, properties_to_json, to_json  # noqa: E402

RAW_PROPERTIES = []
_original_encode = pika.spec.BasicProperties.encode


def _capturing_encode(self):
    pieces = _original_encode(self)
    RAW_PROPERTIES.append(b''.join(pieces))
    return pieces


pika.spec.BasicProperties.encode = _capturing_encode

UTC = datetime.timezone.utc
PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))


def headers():
    return {
        'string': 'plain ascii',
        'unicode': 'h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \U0001F407',
        '\u043a\u043b\u044e\u0447-\U0001F511': 'unicode key',
        'empty_string': '',
        'unicode_long': '\u00fcn\u00efc\u00f8d\u00e9 \u2713 ' * 40,
        'k' * 253 + '\u00e9': 'a key of exactly 255 bytes of UTF-8',
        '__proto__': 'a key that is special in JavaScript',
        'true': True,
        'false': False,
        'int_small': 42,
        'int_negative': -42,
        'int32_max': 2 ** 31 - 1,
        'int32_min': -2 ** 31,
        'int_beyond_int32': 2 ** 31,
        'int_below_int32': -2 ** 31 - 1,
        'int_2_53_plus_1': 2 ** 53 + 1,
        'int_minus_2_53_minus_1': -2 ** 53 - 1,
        'int64_max': 2 ** 63 - 1,
        'int64_min': -2 ** 63,
        'int64_min_plus_1': -(2 ** 63 - 1),
        'long_marker': pika_long(7),
        'decimal': decimal.Decimal('-12.34'),
        'decimal_trailing_zero': decimal.Decimal('1.50'),
        'decimal_integer': decimal.Decimal('100'),
        'decimal_tiny': decimal.Decimal('0.0000000005'),
        'decimal_int32_max': decimal.Decimal('214748.3647'),
        'timestamp_naive_utc': datetime.datetime(2023, 11, 14, 22, 13, 20),
        'timestamp_aware': datetime.datetime(2023, 11, 15, 0, 13, 20, tzinfo=PLUS_TWO),
        'timestamp_epoch': datetime.datetime(1970, 1, 1, tzinfo=UTC),
        'bytes': bytes(range(256)),
        'bytes_empty': b'',
        'void': None,
        'nested': {
            'level1': {'level2': {'deep': 'yes', 'n': 7, 'list': [1, 'a', None]}, 'flag': False},
            'sibling': -3,
        },
        'array': [1, 'two', True, None, b'\x00\x01', decimal.Decimal('2.5'),
                  datetime.datetime(2000, 1, 1, tzinfo=UTC), 2 ** 40, [[], {}]],
        'array_of_tables': [{'name': 'a', 'n': 1}, {'name': 'b', 'inner': [{'x': b'\xff'}]}],
        'empty_array': [],
        'empty_table': {},
    }


def unsupported():
    """Values pika 1.2 cannot encode (data.py encode_value)."""
    out = []
    for what, value in (('float', 1.5), ('float_integral', 2.0), ('int_2_64', 2 ** 64),
                        ('int_below_int64', -2 ** 63 - 1)):
        try:
            pieces = []
            pika.data.encode_value(pieces, value)
            error = None
            encoded = b''.join(pieces).hex()
        except Exception as exc:
            error = '%s: %s' % (type(exc).__name__, exc)
            encoded = None
        out.append({'what': what, 'value': repr(value), 'error': error, 'encoded': encoded})
    return out


def encodings(table):
    out = {}
    for key, value in table.items():
        pieces = []
        pika.data.encode_value(pieces, value)
        out[key] = b''.join(pieces).hex()
    return out


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        sys.exit(2)
    url, queue = sys.argv[1], sys.argv[2]
    params = pika.URLParameters(url)
    params.socket_timeout = 10
    params.stack_timeout = 15
    user = params.credentials.username

    table = headers()
    full = pika.BasicProperties(
        content_type='application/x-interop; charset=utf-8',
        content_encoding='identity',
        headers=table,
        delivery_mode=2,
        priority=7,
        correlation_id='corr-\u00e9-42',
        reply_to='amq.rabbitmq.reply-to.interop',
        expiration='600000',
        message_id='msg-pika-0001',
        timestamp=1700000000,
        type='interop.pika-to-coney',
        user_id=user,
        app_id='pika_publish.py',
        cluster_id='cluster-\u03b1',
    )
    bare = pika.BasicProperties()
    bodies = [('pika \u2192 coney \u2713 ' * 3).encode('utf-8') + bytes(range(256)), b'']

    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.confirm_delivery()
    messages = []
    for props, body in ((full, bodies[0]), (bare, bodies[1])):
        channel.basic_publish('', queue, body, props, mandatory=True)
        messages.append({
            'body': b64(body),
            'properties': properties_to_json(props),
            'raw_properties': b64(RAW_PROPERTIES[-1]),
            'header_encodings': encodings(props.headers or {}),
        })
    connection.close()
    emit({'pika_version': pika.__version__, 'messages': messages, 'unsupported': unsupported()})


if __name__ == '__main__':
    main()
