#!/usr/bin/env bash
# Regenerates packages/export/src/coreml/generated/ from the official Core ML protos in shared/specs/coreml
# (coremltools 9.0 mlmodel/format, proto3; see its SOURCE.md) with @bufbuild/protoc-gen-es (root devDependency).
# Needs `protoc` (Debian: apt-get install protobuf-compiler). The output is committed, so builds never run this.
# Usage: scripts/coreml-codegen.sh [path/to/specs/coreml]   (default: /work/shared/specs/coreml)
set -euo pipefail
cd "$(dirname "$0")/.."
SPECS="${1:-/work/shared/specs/coreml}/mlmodel/format"
OUT=packages/export/src/coreml/generated
rm -rf "$OUT" && mkdir -p "$OUT"
protoc -I "$SPECS" \
  --plugin=protoc-gen-es=node_modules/.bin/protoc-gen-es \
  --es_out="$OUT" --es_opt=target=ts,import_extension=js \
  "$SPECS"/*.proto
npx biome check --write "$OUT" >/dev/null || true
echo "generated: $(find "$OUT" -type f | wc -l) files, $(du -sh "$OUT" | cut -f1)"
