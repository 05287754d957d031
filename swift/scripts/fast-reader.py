#!/usr/bin/env python3
"""Rewrites the two byte-copying lines of uniffi's generated Swift reader (readInt, readBytes).

Why: uniffi 0.32 copies every field out of a RustBuffer with `Data.copyBytes(to:from:)`, a
generic DataProtocol method that is not specialised across the Foundation module boundary, so
each field of each message pays witness-table lookups (a perf profile of W6 put most of the
Swift side there). The replacement copies from `Data.withUnsafeBytes` into the destination's
raw bytes: the same bytes, after the same bounds check (the `guard` above each line stays),
without the generic path. W6 deliveries to Swift, per message, rose about 40% (BENCHMARKS.md).

Usage: fast-reader.py FILE.swift   (rewrites in place; fails if uniffi's code has changed, so a
newer uniffi is noticed instead of silently left slow or half-patched)
"""
import sys

REPLACEMENTS = [
    (
        "    let _ = withUnsafeMutableBytes(of: &value, { reader.data.copyBytes(to: $0, from: range)})\n",
        "    withUnsafeMutableBytes(of: &value) { out in\n"
        "        reader.data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in\n"
        "            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[range]))\n"
        "        }\n"
        "    }\n",
    ),
    (
        "    value.withUnsafeMutableBufferPointer({ buffer in\n"
        "        reader.data.copyBytes(to: buffer, from: range)\n"
        "    })\n",
        "    value.withUnsafeMutableBytes { out in\n"
        "        reader.data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in\n"
        "            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[range]))\n"
        "        }\n"
        "    }\n",
    ),
]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        source = f.read()
    for old, new in REPLACEMENTS:
        if source.count(old) != 1:
            print(f"fast-reader.py: the generated reader in {path} is not the one this patch "
                  "knows (uniffi changed?); update swift/scripts/fast-reader.py", file=sys.stderr)
            return 1
        source = source.replace(old, new)
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    return 0


if __name__ == "__main__":
    sys.exit(main())
