"""Shared helpers of the pika interop scripts (spec/interop/pika_*.py).

Run with Debian's /usr/bin/python3 (python3-pika). Values are printed as
"typed JSON", so that the TypeScript side can compare them exactly:

  str              -> JSON string
  bool             -> true / false
  None             -> null
  int              -> {"$int": "<decimal digits>"}      (any size, exact)
  float            -> {"$float": <number>} or {"$float": "nan" | "inf" | "-inf"}
  decimal.Decimal  -> {"$decimal": "<format(d, 'f')>"}  (positional, scale kept)
  datetime         -> {"$datetime": <epoch seconds, UTC>}
  bytes            -> {"$bytes": "<base64>"}
  list             -> JSON array
  dict             -> JSON object (a bytes key, not valid UTF-8, becomes "$bytes:<base64>")
"""
import base64
import calendar
import datetime
import decimal
import json
import math
import sys


def b64(data):
    return base64.b64encode(bytes(data)).decode('ascii')


def to_json(value):
    """Python value (as pika decodes or was given to encode) -> typed JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):  # also pika.compat.long
        return {'$int': str(int(value))}
    if isinstance(value, float):
        if math.isnan(value):
            return {'$float': 'nan'}
        if math.isinf(value):
            return {'$float': 'inf' if value > 0 else '-inf'}
        return {'$float': value}
    if isinstance(value, decimal.Decimal):
        return {'$decimal': format(value, 'f')}
    if isinstance(value, datetime.datetime):
        return {'$datetime': calendar.timegm(value.utctimetuple())}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {'$bytes': b64(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = k if isinstance(k, str) else '$bytes:' + b64(k)
            out[key] = to_json(v)
        return out
    raise TypeError('cannot represent %r (%s) as typed JSON' % (value, type(value).__name__))


PROPERTY_NAMES = (
    'content_type', 'content_encoding', 'headers', 'delivery_mode', 'priority',
    'correlation_id', 'reply_to', 'expiration', 'message_id', 'timestamp',
    'type', 'user_id', 'app_id', 'cluster_id',
)


def properties_to_json(props):
    return {name: to_json(getattr(props, name)) for name in PROPERTY_NAMES}


def emit(document, code=0):
    sys.stdout.write(json.dumps(document))
    sys.stdout.write('\n')
    sys.stdout.flush()
    sys.exit(code)
