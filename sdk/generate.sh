#!/usr/bin/env bash
# Regenerates the SDKs' generated parts from openapi.yaml:
#   sdk/python/jobcall/generated/   (openapi-python-client)
#   sdk/typescript/src/schema.ts    (openapi-typescript)
#   sdk/typescript/dist/            (tsc: the hand-written layer, compiled)
# with the generator versions pinned in ci/requirements.txt and
# ci/package.json (installed by .ci/run into $JOBCALL_CI_CACHE, by default
# ~/.cache/jobcall-ci; set JOBCALL_SDK_PYTHON_BIN / JOBCALL_SDK_NODE_DIR to
# use others).
#
#   sdk/generate.sh            regenerate in place (commit the result)
#   sdk/generate.sh --check    regenerate into a scratch folder and fail if
#                              the committed files differ (CI runs this)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${JOBCALL_CI_CACHE:-$HOME/.cache/jobcall-ci}"
python_bin="${JOBCALL_SDK_PYTHON_BIN:-$cache/venv/bin}"
node_dir="${JOBCALL_SDK_NODE_DIR:-$cache/node}"
node_bin="$node_dir/node_modules/.bin"

check=false
if [ "${1:-}" = "--check" ]; then check=true; fi

out="$root/sdk"
if $check; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  mkdir -p "$out/python/jobcall" "$out/typescript"
  cp -r "$root/sdk/typescript/src" "$root/sdk/typescript/tsconfig.json" "$root/sdk/typescript/package.json" "$out/typescript/"
fi

# Python: the generated client, as the subpackage jobcall.generated.
scratch="$(mktemp -d)"
PATH="$python_bin:$PATH" "$python_bin/openapi-python-client" generate --meta none --overwrite \
  --path "$root/openapi.yaml" --output-path "$scratch/generated" >/dev/null 2>"$scratch/warnings"
# ruff (run by the generator to format its output) leaves its cache behind.
rm -rf "$scratch/generated/.ruff_cache"
rm -rf "$out/python/jobcall/generated"
cp -r "$scratch/generated" "$out/python/jobcall/generated"
rm -rf "$scratch"

# TypeScript: the spec's types, then the hand-written layer compiled.
"$node_bin/openapi-typescript" "$root/openapi.yaml" -o "$out/typescript/src/schema.ts" >/dev/null 2>&1
rm -rf "$out/typescript/dist"
# tsc finds openapi-fetch's and node's types through a node_modules beside
# the package: the tools' one, linked for the compile only.
linked=false
if [ ! -e "$out/typescript/node_modules" ]; then
  ln -s "$node_dir/node_modules" "$out/typescript/node_modules"
  linked=true
fi
(cd "$out/typescript" && "$node_bin/tsc" -p tsconfig.json) || { $linked && rm "$out/typescript/node_modules"; exit 1; }
$linked && rm "$out/typescript/node_modules"

if $check; then
  status=0
  diff -r "$root/sdk/python/jobcall/generated" "$out/python/jobcall/generated" || status=1
  diff "$root/sdk/typescript/src/schema.ts" "$out/typescript/src/schema.ts" || status=1
  diff -r "$root/sdk/typescript/dist" "$out/typescript/dist" || status=1
  if [ $status -ne 0 ]; then
    echo "the committed SDK code is not what sdk/generate.sh makes of openapi.yaml: run sdk/generate.sh" >&2
    exit 1
  fi
  echo "the committed SDK code is up to date"
fi
