#!/bin/sh
# Render every *.j2 template in DIR to OUT with one process per file, as users of
# jinjanator and envtpl do in entrypoint scripts.   sh per-file.sh TOOL DIR OUT
set -e
tool=$1 dir=$2 out=$3
for template in "$dir"/*.j2; do
  name=$(basename "$template" .j2)
  case "$tool" in
    jinjanate) jinjanate --quiet "$template" -o "$out/$name" ;;
    envtpl) envtpl --keep-template "$template" -o "$out/$name" ;;
    *) echo "unknown tool $tool" >&2; exit 2 ;;
  esac
done
