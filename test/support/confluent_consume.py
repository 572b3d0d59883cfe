"""Reads Avro records in Confluent's wire format with Confluent's own Python client.

Usage (with the venv of scripts/confluent-client.sh):
  "$(scripts/confluent-client.sh python)" test/support/confluent_consume.py \
      --bootstrap 127.0.0.1:9092 --registry http://127.0.0.1:8081/apis/ccompat/v7 \
      --topic T --count N [--timeout-s 60] [--group G]

Consumes the first N records of the topic (auto.offset.reset=earliest, nothing committed)
and decodes each value with AvroDeserializer and the writer schema the registry has for
its id. Prints one JSON line per record on stdout:
  {"partition": 0, "offset": 0, "key": "..." | null, "schema_id": 1, "value": {...}}
Values keep Avro's plain data model: bytes as base64 strings, longs as JSON integers (any
size), logical types not converted (timestamp-millis stays its long, as callstream reads it).

Exit codes: 0 all N read; 2 timeout before N (a JSON {"error": ...} line on stderr);
3 a record that is not Confluent's wire format or does not decode (error on stderr).
"""

import argparse
import base64
import json
import os
import sys
import time

import fastavro.read
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

# Logical types read as their underlying type (fastavro's documented hook), so that a
# timestamp outside Python's datetime range still decodes.
fastavro.read.LOGICAL_READERS.clear()


def to_json(obj):
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode("ascii")
    raise TypeError(f"cannot print {type(obj).__name__} as JSON")


def fail(code, message):
    print(json.dumps({"error": message}), file=sys.stderr, flush=True)
    sys.exit(code)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--timeout-s", type=float, default=60.0)
    parser.add_argument("--group", default=f"callstream-confluent-consume-{os.getpid()}-{time.time_ns()}")
    args = parser.parse_args()

    deserialize = AvroDeserializer(SchemaRegistryClient({"url": args.registry}))
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([args.topic])
    deadline = time.monotonic() + args.timeout_s
    read, last_error = 0, None
    try:
        while read < args.count:
            left = deadline - time.monotonic()
            if left <= 0:
                why = f"; last consumer error: {last_error}" if last_error else ""
                fail(2, f"timeout after {args.timeout_s}s: {read} of {args.count} records from {args.topic}{why}")
            msg = consumer.poll(min(left, 1.0))
            if msg is None:
                continue
            if msg.error():
                last_error = str(msg.error())
                continue
            where = f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"
            raw = msg.value()
            try:
                if raw is None or len(raw) < 5 or raw[0] != 0:
                    raise ValueError(f"value is not in Confluent's wire format (first bytes: {(raw or b'')[:5].hex() or 'none'})")
                value = deserialize(raw, SerializationContext(msg.topic(), MessageField.VALUE, msg.headers()))
                key = None if msg.key() is None else msg.key().decode("utf-8")
            except Exception as e:  # noqa: BLE001 - any failure to read a record is the finding
                fail(3, f"{where}: {type(e).__name__}: {e}")
            record = {
                "partition": msg.partition(),
                "offset": msg.offset(),
                "key": key,
                "schema_id": int.from_bytes(raw[1:5], "big"),
                "value": value,
            }
            print(json.dumps(record, default=to_json), flush=True)
            read += 1
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
