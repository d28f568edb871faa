#!/usr/bin/env bash
# Regenerates packages/export/src/onnx/generated/ from the official ONNX schema in shared/specs/onnx
# (onnx.proto, proto2, ONNX v1.22.0; see its SOURCE.md) with @bufbuild/protoc-gen-es (root devDependency).
# Needs `protoc` (Debian: apt-get install protobuf-compiler). The output is committed, so builds never run this.
# Usage: scripts/onnx-codegen.sh [path/to/specs/onnx]   (default: /work/shared/specs/onnx)
set -euo pipefail
cd "$(dirname "$0")/.."
SPECS="${1:-/work/shared/specs/onnx}"
OUT=packages/export/src/onnx/generated
rm -rf "$OUT" && mkdir -p "$OUT"
protoc -I "$SPECS" \
  --plugin=protoc-gen-es=node_modules/.bin/protoc-gen-es \
  --es_out="$OUT" --es_opt=target=ts,import_extension=js \
  "$SPECS/onnx/onnx.proto"
npx biome check --write "$OUT" >/dev/null
echo "generated: $(find "$OUT" -type f)"
