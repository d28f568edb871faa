"""Independent decoder for the Core ML oracle test: decodes .mlmodel files with Google's protobuf runtime and
Python classes that protoc generates from Apple's official protos (not with our TypeScript code), and prints a
JSON summary per file. Usage: /usr/bin/python3 decode_mlmodel.py PB2_DIR FILE.mlmodel..."""
import json
import sys

sys.path.insert(0, sys.argv[1])
import Model_pb2  # noqa: E402


def weight_count(w):
    if len(w.floatValue):
        return len(w.floatValue)
    if len(w.float16Value):
        return len(w.float16Value) // 2
    if len(w.rawValue):
        return len(w.rawValue) * 8 // max(1, w.quantization.numberOfBits)
    return 0


def summary(path):
    m = Model_pb2.Model()
    with open(path, "rb") as f:
        data = f.read()
    m.ParseFromString(data)
    kind = m.WhichOneof("Type")
    out = {
        "specificationVersion": m.specificationVersion,
        "type": kind,
        "inputs": [(f.name, f.type.WhichOneof("Type")) for f in m.description.input],
        "outputs": [(f.name, f.type.WhichOneof("Type")) for f in m.description.output],
        "author": m.description.metadata.author,
        "layers": [],
        "unknownFields": len(m.UnknownFields()) if hasattr(m, "UnknownFields") else 0,
    }
    if kind in ("neuralNetwork", "neuralNetworkClassifier"):
        nn = getattr(m, kind)
        for l in nn.layers:
            t = l.WhichOneof("layer")
            p = getattr(l, t)
            weights = {}
            for field in ("weights", "bias", "gamma", "beta", "data", "scale"):
                if p.DESCRIPTOR.fields_by_name.get(field) is not None and p.HasField(field):
                    weights[field] = weight_count(getattr(p, field))
            out["layers"].append({"name": l.name, "type": t, "inputs": list(l.input), "outputs": list(l.output), "weights": weights})
        if kind == "neuralNetworkClassifier":
            out["labels"] = list(nn.stringClassLabels.vector)
    if kind == "mlProgram":
        fn = m.mlProgram.functions["main"]
        blk = fn.block_specializations[fn.opset]
        out["opset"] = fn.opset
        out["ops"] = [op.type for op in blk.operations]
        out["blockOutputs"] = list(blk.outputs)
    return out


print(json.dumps({p: summary(p) for p in sys.argv[2:]}))
