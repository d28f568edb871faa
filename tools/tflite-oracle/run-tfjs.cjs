#!/usr/bin/env node
// TFLite oracle runner (test-only): runs .tflite models in the official TFLite interpreter compiled to WASM
// (@tensorflow/tfjs-tflite 0.0.1-alpha.10, XNNPACK delegate) in plain Node, using the shims documented in
// /work/shared/oracles/README.md. Usage: node run-tfjs.cjs request.json response.json
// request:  { cases: [{ model: "/abs/model.tflite", inputs: [{ data: number[], shape: number[], dtype }] }] }
// response: { results: [{ outputs: [{ data, shape, dtype }] } | { error: string }] }
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const wasmDir = path.join(__dirname, 'node_modules/@tensorflow/tfjs-tflite/wasm/');
const WASM_URL = 'http://127.0.0.1/tflite-wasm/';

globalThis.self = globalThis;
globalThis.location = new URL('http://127.0.0.1/');
delete globalThis.SharedArrayBuffer; // else the threaded build is chosen and fails on Worker
globalThis.importScripts = (...urls) => {
  for (const url of urls) {
    const file = path.join(wasmDir, String(url).slice(WASM_URL.length));
    vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });
  }
};
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const u = String(url);
  if (u.startsWith(WASM_URL)) {
    const bytes = fs.readFileSync(path.join(wasmDir, u.slice(WASM_URL.length)));
    return new Response(bytes, { headers: { 'Content-Type': 'application/wasm' } });
  }
  return realFetch(url, init);
};

const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tflite = require('@tensorflow/tfjs-tflite');

async function main() {
  const [reqPath, resPath] = process.argv.slice(2);
  const req = JSON.parse(fs.readFileSync(reqPath, 'utf8'));
  await tf.setBackend('cpu');
  tflite.setWasmPath(WASM_URL);
  const results = [];
  for (const c of req.cases) {
    try {
      const t0 = Date.now();
      const bytes = fs.readFileSync(c.model);
      const model = await tflite.loadTFLiteModel(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
        { numThreads: 1 },
      );
      const ins = c.inputs.map((t) =>
        tf.tensor(t.data, t.shape, t.dtype === 'float32' ? 'float32' : 'int32'),
      );
      const out = model.predict(ins.length === 1 ? ins[0] : ins);
      const list = Array.isArray(out)
        ? out
        : out instanceof tf.Tensor
          ? [out]
          : model.outputs.map((o) => out[o.name]);
      const outputs = list.map((t) => ({ data: Array.from(t.dataSync()), shape: t.shape, dtype: t.dtype }));
      if (process.env.TV_ORACLE_TIMING) console.error('case', Date.now() - t0, 'ms');
      results.push({ outputs, outputNames: model.outputs.map((o) => o.name) });
      tf.dispose([...ins, ...list]);
    } catch (e) {
      results.push({ error: String(e?.stack ? e.stack : e) });
    }
  }
  fs.writeFileSync(resPath, JSON.stringify({ results }));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
