#!/usr/bin/env python3
"""Independent verifier of Sarap's audit log: needs nothing but Python's standard library.

Usage: scripts/verify-audit.py FILE.jsonl   (one audit record per line, any order)

A record's hash is SHA-256 over its canonical JSON with "hash" set to "" and "excerpt" left out
(retention deletes it; "excerpt_sha256" stays inside): keys sorted, no
whitespace, non-ASCII characters as they are. Records form one chain per analyzer process
("chain"), numbered from 0 ("seq"), each carrying the previous record's hash ("prev_hash";
64 zeros for the first). Exit 0 when every chain verifies, 1 at the first broken link.
"""
import hashlib
import json
import sys

GENESIS = "0" * 64


def canonical_hash(record: dict) -> str:
    body = dict(record, hash="")
    body.pop("excerpt", None)  # outside the hash: retention deletes it; excerpt_sha256 is inside
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def main(path: str) -> int:
    chains: dict = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            if canonical_hash(rec) != rec["hash"]:
                print(f"BROKEN line {n}: chain {rec['chain']} seq {rec['seq']}: content does not match its hash")
                return 1
            chains.setdefault(rec["chain"], {})[rec["seq"]] = rec
    for chain, recs in sorted(chains.items()):
        prev = GENESIS
        for expected, seq in enumerate(sorted(recs)):
            rec = recs[seq]
            if seq != expected:
                print(f"BROKEN chain {chain}: expected seq {expected}, found {seq}")
                return 1
            if rec["prev_hash"] != prev:
                print(f"BROKEN chain {chain} seq {seq}: prev_hash does not match seq {seq - 1}")
                return 1
            prev = rec["hash"]
        print(f"ok: chain {chain}: {len(recs)} records")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
