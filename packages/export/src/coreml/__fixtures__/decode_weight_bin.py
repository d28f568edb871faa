"""Independent reader for the ML Program oracle test: decodes model.mlmodel with Google's protobuf runtime and
protoc-generated classes from Apple's official protos, and reads weight.bin with struct/numpy following the layout
in mlmodel/src/MILBlob/Blob/StorageFormat.hpp (64-byte storage_header {count u32, version u32, ...}; per blob a
64-byte blob_metadata {sentinel u32 0xDEADBEEF, mil_dtype u32, sizeInBytes u64, offset u64, ...}).
Prints JSON: the header and, per blob-backed const, its dtype, element count and value sum.
Usage: /usr/bin/python3 decode_weight_bin.py PB2_DIR model.mlmodel weight.bin"""
import json
import struct
import sys

import numpy as np

sys.path.insert(0, sys.argv[1])
import Model_pb2  # noqa: E402

DTYPES = {1: np.float16, 2: np.float32, 3: np.uint8, 4: np.int8}

m = Model_pb2.Model()
with open(sys.argv[2], "rb") as f:
    m.ParseFromString(f.read())
with open(sys.argv[3], "rb") as f:
    blob = f.read()
count, version = struct.unpack_from("<II", blob, 0)
fn = m.mlProgram.functions["main"]
consts = {}
for op in fn.block_specializations[fn.opset].operations:
    if op.type != "const" or op.attributes["val"].WhichOneof("value") != "blobFileValue":
        continue
    ref = op.attributes["val"].blobFileValue
    sentinel, dtype, size, offset = struct.unpack_from("<IIQQ", blob, ref.offset)
    assert sentinel == 0xDEADBEEF, (op.outputs[0].name, hex(sentinel))
    values = np.frombuffer(blob[offset : offset + size], dtype=DTYPES[dtype]).astype(np.float64)
    consts[op.outputs[0].name] = {
        "fileName": ref.fileName,
        "dtype": dtype,
        "count": int(values.size),
        "sum": float(values.sum()),
    }
print(json.dumps({"count": count, "version": version, "consts": consts}))
