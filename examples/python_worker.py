"""A Python worker on a syncmgr server: CPython 3.12+'s multiprocessing.connection does the
handshake and framing, then requests and answers are JSON (docs/PROTOCOL.md §4, §7).

    SYNCMGR_AUTHKEY=KEY python3 examples/python_worker.py [HOST [PORT]]
"""
import json, os, sys
from multiprocessing.connection import Client

conn = Client((sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1', int(sys.argv[2]) if len(sys.argv) > 2 else 50000),
              authkey=os.environ['SYNCMGR_AUTHKEY'].encode())

def call(id, op, *args, **target):
    conn.send_bytes(json.dumps({'id': id, 'op': op, 'args': list(args), **target}).encode())
    answer = json.loads(conn.recv_bytes())
    if 'error' in answer:
        raise RuntimeError('%(code)s: %(message)s' % answer['error'])
    return answer['result']

call(1, 'hello', {'protocol': 1, 'client': 'python-worker'})
print(call(2, 'incr', 'hits', 1, type='dict', name='default'))
conn.close()
