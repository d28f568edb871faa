#!/usr/bin/env python3
"""TFLite oracle runner (test-only), second interpreter: Arm NN's TfLite parser on the CpuRef backend
(Debian python3-pyarmnn). Same request/response JSON as run-tfjs.cjs:
  python3 run-armnn.py request.json response.json
request:  {"cases": [{"model": "/abs/model.tflite", "inputs": [{"data": [...], "shape": [...], "dtype": "float32"}]}]}
response: {"results": [{"outputs": [{"data": [...], "shape": [...], "dtype": "float32"}]} | {"error": "..."}]}
"""
import contextlib
import io
import json
import sys

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import numpy as np
    import pyarmnn as ann


def run_case(runtime, case):
    parser = ann.ITfLiteParser()
    net = parser.CreateNetworkFromBinaryFile(case["model"])
    graph_id = 0
    in_names = parser.GetSubgraphInputTensorNames(graph_id)
    out_names = parser.GetSubgraphOutputTensorNames(graph_id)
    opt, messages = ann.Optimize(net, [ann.BackendId("CpuRef")], runtime.GetDeviceSpec(), ann.OptimizerOptions())
    net_id, _ = runtime.LoadNetwork(opt)
    try:
        inputs = []
        for name, spec in zip(in_names, case["inputs"]):
            binding = parser.GetNetworkInputBindingInfo(graph_id, name)
            dtype = {ann.DataType_Float32: np.float32, ann.DataType_QAsymmS8: np.int8,
                     ann.DataType_QAsymmU8: np.uint8, ann.DataType_Signed32: np.int32}[binding[1].GetDataType()]
            inputs.append(np.asarray(spec["data"]).astype(dtype).reshape(spec["shape"]))
        in_bindings = [parser.GetNetworkInputBindingInfo(graph_id, n) for n in in_names]
        out_bindings = [parser.GetNetworkOutputBindingInfo(graph_id, n) for n in out_names]
        input_tensors = ann.make_input_tensors(in_bindings, inputs)
        output_tensors = ann.make_output_tensors(out_bindings)
        runtime.EnqueueWorkload(net_id, input_tensors, output_tensors)
        results = ann.workload_tensors_to_ndarray(output_tensors)
        return {"outputs": [{"data": r.astype(np.float64).ravel().tolist(), "shape": list(r.shape),
                             "dtype": str(r.dtype)} for r in results]}
    finally:
        runtime.UnloadNetwork(net_id)


def main():
    req = json.load(open(sys.argv[1]))
    runtime = ann.IRuntime(ann.CreationOptions())
    results = []
    for case in req["cases"]:
        try:
            results.append(run_case(runtime, case))
        except Exception as e:  # reported per case to the test
            results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump({"results": results}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
